"""A segmentation experiment in a bundle: what `podium export` checks and copies of a mask
model, and how `podium predict --bundle` makes its test maps again.

Exported: each fold x seed unit's weights that `podium infer` predicts masks with
(`train.checkpoint`: best.pt, last.pt's, swa.pt, or each snapshot; fp16 with --half), the post-processing fitted on every OOF row (threshold and minimum area,
`decisions.json`, via the generic decision export), and the config (the run-length
convention `competition.rle`, the layout `competition.rle_rows`, the classes and the image
settings `data.*`). The task's schema needs no masks: targets.csv holds one row per class of
an image without runs, in the train table's layout. Predicted: the test maps through
`mask_units.test_maps` (the code `infer` runs), stored as `infer` stores them, then the
submission through `build_submission`, so the file is `podium submit`'s byte for byte (same
device, full-precision weights).

A segmentation ensemble (`podium.mask_ensemble`) carries each member as above and its chosen
candidate (`export_mask_combination`: the blend's weights by fold, the gates' XGBoost files);
`write_mask_maps` makes every member's maps, reads them back as the store keeps them (float16)
and combines them as the ensemble did (`mask_ensemble.combine`).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from podium.artifacts import write_csv
from podium.bundle.combination import chosen_combination
from podium.bundle.unit_weights import copy_unit_weights
from podium.config import Config
from podium.engine.checkpoint import checkpoint_members
from podium.ensemble.inputs import stamp as ensemble_stamp
from podium.errors import ArtifactError
from podium.experiment import Experiment
from podium.mask_ensemble.combine import combine_maps
from podium.mask_ensemble.members import load_mask_inputs
from podium.mask_store import OOF_MAPS, TEST_MAPS, read_maps, write_maps
from podium.mask_units import test_maps
from podium.units.stamps import mask_infer_stamp, mask_oof_stamp


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
    """Every unit's inference weights (`train.checkpoint`'s) into the run layout
    `mask_units` reads; the member's entry."""
    cfg = exp.cfg
    weights = checkpoint_members(cfg.train.checkpoint, cfg.train.cycles)  # what infer used
    files = copy_unit_weights(exp, bundle, weights, half)
    rle = cfg.competition.rle
    return {
        **entry,
        "kind": "masks",
        "weights": weights,
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


def export_mask_combination(cfg: Config, bundle: Path) -> dict[str, Any]:
    """A segmentation ensemble's chosen candidate and what it needs (the blend's weights, the
    gates' files into ensemble/meta/); refused when the ensemble is not current with its
    members' maps."""
    inputs = load_mask_inputs(cfg)  # refuses missing member maps, naming the member
    out = cfg.run_dir
    fresh = ensemble_stamp(cfg, cfg.section("ensemble"), inputs, out).fresh(
        [out / TEST_MAPS, out / "scores.json"]
    )
    members = [m.name for m in inputs.members]
    cand, combination = chosen_combination(out, fresh, members, "maps", cfg.source)
    if cand["kind"] in ("blend", "stack"):
        combination["weights_by_fold"] = cand["weights_by_fold"]
    if cand["kind"] == "stack":
        combination["gates"] = cand["gates"]
        for spec in cand["gates"]:
            if "file" in spec:
                (bundle / "ensemble" / "meta").mkdir(parents=True, exist_ok=True)
                shutil.copyfile(
                    out / "meta" / spec["file"], bundle / "ensemble" / "meta" / spec["file"]
                )
    return combination


def write_mask_maps(
    manifest: dict[str, Any], members: list[Config], bundle: Path, tmp: Path
) -> Path:
    """The test maps the bundle submits from, into `tmp`: the one member's, or the
    ensemble's chosen candidate made from every member's (read back as stored, float16)."""
    if len(members) == 1 and manifest["combination"]["kind"] == "member":
        return write_test_maps(members[0], tmp)
    names, maps = [], []
    ids: list[str] = []
    for cfg in members:
        path = write_test_maps(cfg, tmp / "members" / cfg.name)
        ids = [str(i) for i in Experiment(cfg).comp.test_ids]
        names.append(cfg.name)
        maps.append(read_maps(path, ids))
    combined = combine_maps(manifest["combination"], names, maps, bundle / "ensemble" / "meta")
    write_maps(tmp / TEST_MAPS, ids, np.asarray(combined))
    return tmp / TEST_MAPS
