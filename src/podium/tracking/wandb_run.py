"""Weights & Biases: a unit's run is `<exp>-fold{k}-seed{s}` in the experiment's group (the
CV's `<exp>-cv`), in `track.wandb.project` (default: the competition), with the resolved config
plus the unit's fold and seed as its config. Epochs are logged at step = epoch (1-based, as
in history.csv); the unit's result and the CV go to the run's summary.

`mode: offline` (or WANDB_MODE=offline) writes `<dir>/wandb/offline-run-*` without any
network or login; `wandb sync` uploads it later. Console capture is off: podium's own output
stays as it is."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from podium.config import Config
from podium.tracking.run import RunLabel


class WandbRun:
    def __init__(self, run: Any) -> None:
        self.run = run

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        self.run.log(metrics, step=step)

    def log_summary(self, values: dict[str, float]) -> None:
        self.run.summary.update(values)

    def finish(self, ok: bool) -> None:
        self.run.finish(exit_code=0 if ok else 1)


def open_wandb(
    cfg: Config, label: RunLabel, folder: Path, config: dict[str, Any], first_step: int
) -> WandbRun:
    import wandb

    section = cfg.track.wandb if cfg.track is not None else None
    assert section is not None
    where = Path(section.dir) if section.dir else cfg.comp_dir
    where.mkdir(parents=True, exist_ok=True)
    name = f"{label.experiment}-{label.unit.replace('/', '-')}"
    run = wandb.init(
        project=section.project or label.competition,
        entity=section.entity,
        name=name,
        group=label.experiment,
        job_type="cv" if label.fold is None else "train",
        config={**config, "fold": label.fold, "seed": label.seed},
        dir=str(where),
        mode=section.mode,
        reinit="create_new",
        settings=wandb.Settings(console="off", silent=True, disable_git=True, save_code=False),
    )
    return WandbRun(run)
