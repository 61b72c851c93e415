"""A segmentation experiment in a bundle: what `podium export` checks and copies of a mask
model, and how `podium predict --bundle` makes its test maps again.

Exported: each fold x seed unit's `best.pt` (the weights `podium infer` predicts masks with;
fp16 with --half), the post-processing fitted on every OOF row (threshold and minimum area,
`decisions.json`, via the generic decision export), and the config (the run-length
convention `competition.rle`, the layout `competition.rle_rows`, the classes and the image
settings `data.*`). The task's schema needs no masks: targets.csv holds one row per class of
an image without runs, in the train table's layout. Predicted: the test maps through
`mask_units.test_maps` (the code `infer` runs), stored as `infer` stores them, then the
submission through `build_submission`, so the file is `podium submit`'s byte for byte (same
device, full-precision weights).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from podium.artifacts import write_csv
from podium.bundle.unit_weights import copy_unit_weights
from podium.config import Config
from podium.errors import ArtifactError
from podium.experiment import Experiment
from podium.mask_store import OOF_MAPS, TEST_MAPS, write_maps
from podium.mask_units import test_maps
from podium.units.stamps import mask_infer_stamp, mask_oof_stamp

WEIGHTS = "best"  # mask units predict with best.pt (train.checkpoint: best or last)


def check_mask_units(exp: Experiment, remake: str) -> None:
    """test_maps.npy current with the trained units, else the command that makes it."""
    if not mask_infer_stamp(exp).fresh([exp.run_dir / TEST_MAPS]):
        raise ArtifactError(
            f"{exp.run_dir / TEST_MAPS} is missing or older than the trained units; make it "
            f"with: {remake}"
        )


def mask_scores_fresh(exp: Experiment, scores: Path) -> bool:
    """scores.json (the fitted post-processing) current with the OOF maps."""
    return mask_oof_stamp(exp).fresh([exp.run_dir / OOF_MAPS, scores])


def export_mask_units(exp: Experiment, bundle: Path, half: bool, entry: dict[str, Any]) -> dict:
    """Every unit's best.pt into the run layout `mask_units` reads; the member's entry."""
    cfg = exp.cfg
    files = copy_unit_weights(exp, bundle, [WEIGHTS], half)
    rle = cfg.competition.rle
    return {
        **entry,
        "kind": "masks",
        "weights": [WEIGHTS],
        "checkpoints": files,
        "classes": list(exp.task.columns),
        "rle": rle if isinstance(rle, str) else rle.model_dump(mode="json"),
        "image_size": list(cfg.data.image_size),
    }


def mask_targets(cfg: Config) -> pd.DataFrame:
    """The task's schema without its masks: one image (`0`) without runs, in the train
    table's layout (long rows: one row per class; else the id and run-length columns)."""
    c = cfg.competition
    rows = c.rle_rows
    classes = [str(k) for k in c.classes or []]
    if rows is None:
        one: pd.DataFrame = pd.DataFrame({c.id_column: ["0"], **{t: [""] for t in c.target_names}})
        return one
    if rows.image_label is not None:
        keys = {rows.image_label: [f"0{rows.separator}{k}" for k in classes]}
    else:
        keys = {str(rows.image): ["0"] * len(classes), str(rows.class_column): classes}
    table: pd.DataFrame = pd.DataFrame({**keys, rows.rle: [""] * len(classes)})
    return table


def export_mask_targets(cfg: Config, bundle: Path, name: str) -> None:
    write_csv(bundle / name, mask_targets(cfg))


def bundle_mask_config(d: dict[str, Any]) -> None:
    """A stored config as a bundle reads it: its train table is targets.csv alone (no train
    images to list beside it)."""
    rows = d["competition"].get("rle_rows")
    if rows is not None:
        rows["unlisted"] = "skip"


def write_test_maps(cfg: Config, tmp: Path) -> Path:
    """The member's merged test maps into `tmp` (where build_submission reads them)."""
    exp = Experiment(cfg)
    maps, _ = test_maps(exp)
    write_maps(tmp / TEST_MAPS, [str(i) for i in exp.comp.test_ids], maps)
    return tmp / TEST_MAPS
