"""Segmentation's OOF and test maps, behind `podium oof` and `podium infer` when the task is
pixelwise (its units train in the one training core, `podium.units.train` over
`engine.trainer.fit`, like every task's: the samples, the validation score and targets are the
task's hooks, so SWA, snapshots, progressive resizing, early stopping, AMP, EMA,
channels_last, compile, DDP under torchrun, the device pool and lr-find are shared).

- Prediction: a fold's maps over seeds (and snapshots) and TTA views, with the weights
  `train.checkpoint` names (`podium.mask_data.fold_maps`).
- OOF: fold k's maps from fold k's models, stored float16 (`podium.mask_store`); the
  post-processing decision (threshold, minimum area) fitted on the other folds decides fold
  k, so scores.json's CV is honest, with the in-sample value beside it.
- Infer: the test maps merged over folds, seeds and views.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np

from podium.artifacts import read_json, write_json
from podium.experiment import Experiment
from podium.mask_data import (
    fold_maps,
    merge_maps,
    small_targets,
    unit_maps,
)
from podium.mask_scores import oof_scores
from podium.mask_store import OOF_MAPS, TEST_MAPS, bytes_per_image, write_maps
from podium.units.stamps import mask_infer_stamp, mask_oof_stamp

_log = logging.getLogger(__name__)


# ---- predict ----------------------------------------------------------------------------------
def oof(exp: Experiment, force: bool = False) -> dict[str, Any]:
    """The OOF maps of every fold, the honest CV and scores.json; see the module docstring."""
    cfg, task = exp.cfg, exp.task
    out = exp.run_dir / OOF_MAPS
    record = mask_oof_stamp(exp)
    if not force and record.fresh([out, exp.run_dir / "scores.json"]):
        _log.info("oof %s: up to date (%s)", cfg.name, out)
        return dict(read_json(exp.run_dir / "scores.json"))
    t0 = time.time()
    fold_of_row = exp.fold_of_row
    y = small_targets(exp).astype(bool)
    prob = np.zeros(y.shape, np.float32)
    for k in range(cfg.folds.n_splits):
        rows = np.flatnonzero(fold_of_row == k)
        prob[rows] = fold_maps(exp, k, exp.train_images[rows])
    prob = prob.astype(np.float16).astype(np.float32)  # decided as stored: refits agree
    record.invalidate()
    write_maps(out, [str(i) for i in exp.comp.train_ids], prob, fold_of_row)
    scores, report = oof_scores(task, exp.comp.targets, y, prob, fold_of_row)
    scores["store_bytes_per_image"] = bytes_per_image(out)
    scores["seconds"] = round(time.time() - t0, 2)
    write_json(exp.run_dir / "scores.json", scores)
    record.write(cv=scores["cv"])
    native = scores.get("cv_at_image_size")
    print(
        f"oof {cfg.name}: CV {task.metric.name} {scores['cv']:.4f} (honest: fold k "
        f"post-processed by the other folds' fit)  in-sample {scores['in_sample']:.4f}  "
        f"at 0.5 {scores['at_threshold_0.5']:.4f}"
        + (f"  at the images' own sizes {native:.4f}" if native is not None else "")
        + f"  ({scores['seconds']}s)"
    )
    for line in report:
        print(f"  {line}")
    return scores


def test_maps(exp: Experiment) -> tuple[np.ndarray, int]:
    """The test images' maps merged over the folds, seeds and views, and how many were
    merged: what `infer` stores and `podium predict --bundle` recomputes."""
    cfg = exp.cfg
    maps = np.concatenate([unit_maps(exp, k, exp.test_images) for k in cfg.fold_ids()])
    return merge_maps(exp.task, maps, cfg.infer.merge), len(maps)


def infer(exp: Experiment, force: bool = False) -> None:
    """The test maps merged over folds, seeds and views (the flip undone before the mean)."""
    cfg = exp.cfg
    out = exp.run_dir / TEST_MAPS
    record = mask_infer_stamp(exp)
    if not force and record.fresh([out]):
        _log.info("infer %s: up to date (%s)", cfg.name, out)
        return
    t0 = time.time()
    folds = cfg.fold_ids()
    merged, n_maps = test_maps(exp)
    record.invalidate()
    write_maps(out, [str(i) for i in exp.comp.test_ids], merged)
    record.write(folds=folds, seconds=round(time.time() - t0, 2))
    _log.info(
        "infer %s: %d test images x %d maps in %.1fs -> %s (%.0f bytes per image)",
        cfg.name,
        len(exp.comp.test_ids),
        n_maps,
        time.time() - t0,
        out,
        bytes_per_image(out),
    )
