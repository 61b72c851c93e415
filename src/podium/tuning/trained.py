"""What a trial (or a holdout run) trains and predicts, whatever the task: every unit
through the shared training core (`podium.units`); predictions as rows, or as maps for a
pixelwise task (segmentation: `podium.mask_data`). The study, its objective and its
holdout ask here, so they never branch on the task themselves.

`validation(exp, folds)` gives the targets, predictions and folds of the validation rows
of `folds`, each fold's rows predicted by that fold's units as oof predicts them: rows of
the task's columns, or (N, C, h, w) probability maps with the masks at `data.image_size`
(what a segmentation's OOF store holds and its CV scores).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from podium.experiment import Experiment
from podium.mask_data import fold_maps, small_targets
from podium.units.predict import valid_predictions
from podium.units.train import train_units

EpochHook = Callable[[int, dict[str, float]], None]


def epoch_key(exp: Experiment) -> str:
    """The history column of the per-epoch validation score a pruner sees: the task's
    `monitor` (the metric, or a mask unit's mean Dice at threshold 0.5: its post-processing
    is fitted once, after)."""
    return f"valid_{exp.task.monitor.name}"


def train_run(
    exp: Experiment,
    fold: int | None = None,
    seed: int | None = None,
    on_epoch_end: EpochHook | None = None,
    lock_wait: float = 0.0,
) -> None:
    """Train the run's units (or one), skipping fresh ones: rows' or masks', in the one core."""
    train_units(exp, fold=fold, seed=seed, on_epoch_end=on_epoch_end, lock_wait=lock_wait)


def validation(exp: Experiment, folds: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(targets, predictions, fold) of the validation rows of `folds`, in train-table order."""
    if not exp.task.pixelwise:
        rows, pred = valid_predictions(exp, folds)
        return exp.comp.targets[rows], pred, exp.fold_of_row[rows]
    rows = np.flatnonzero(np.isin(exp.fold_of_row, folds))
    fold = exp.fold_of_row[rows]
    y = small_targets(exp)[rows].astype(bool)
    maps = np.zeros(y.shape, np.float32)
    for k in folds:
        mine = fold == k
        maps[mine] = fold_maps(exp, k, exp.train_images[rows[mine]])
    # decided as the OOF store holds them (float16), so a trial scores as oof would
    return y, maps.astype(np.float16).astype(np.float32), fold
