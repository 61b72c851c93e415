"""The training units' inference weights copied into a bundle: one file per fold x seed and
checkpoint, in the run layout the predictors read (`runs/<comp>/<exp>/fold{k}/seed{s}/`), so
`podium predict` loads them exactly as `infer` does. Shared by classification members and
mask models (`bundle.contents`, `bundle.masks`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from podium.engine.checkpoint import inference_state, save_checkpoint
from podium.experiment import Experiment


def copy_unit_weights(exp: Experiment, bundle: Path, which: Sequence[str], half: bool) -> list[str]:
    """Each unit's `which` checkpoints (e.g. best, last, swa) as weights only (fp16 with
    `half`) under `bundle`; their paths relative to the bundle, units first, then `which`."""
    dest = bundle / "runs" / exp.cfg.competition.name / exp.cfg.name
    files = []
    for fold, seed in exp.units():
        for name in which:
            state = inference_state(exp.unit_dir(fold, seed), name)
            if half:
                state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
            path = dest / f"fold{fold}" / f"seed{seed}" / f"{name}.pt"
            save_checkpoint(path, {"model": state})
            files.append(path.relative_to(bundle).as_posix())
    return files
