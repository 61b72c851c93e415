"""A trial's value where the task decides (ordinal cut-points, multilabel F thresholds): the
metric of its validation rows decided CV-honestly, not the plain per-epoch metric.

The epoch's validation metric of an ordinal task rounds each prediction to the nearest grade;
`podium oof` and the submission grade at cut-points fitted on OOF rows, so a study ranking
trials by the rounded QWK ranks them by a figure nothing downstream reports. The trial's
units predict their validation rows (`podium.units.predict.valid_predictions`), which are
scored pooled by `podium.scoring.score_predictions`: over two folds or more, fold k is decided
with parameters fitted on the other folds, as oof does. A study on one fold (the default)
splits that fold's rows into `INNER_PARTS` parts fixed by row order and a seed, and decides
each part with parameters fitted on the others: fitted on rows it does not score, as oof.
The pruner still sees the per-epoch metric (a decision per epoch would cost a fit per epoch).
"""

from __future__ import annotations

import numpy as np

from podium.experiment import Experiment
from podium.scoring import score_predictions
from podium.tasks import Task
from podium.tuning.trained import validation

INNER_PARTS = 5


def inner_parts(n: int, parts: int = INNER_PARTS, seed: int = 0) -> np.ndarray:
    """(n,) part ids 0..parts-1, balanced, the same for every trial of a study."""
    return np.random.default_rng(seed).permutation(n) % parts


def decided_score(task: Task, y: np.ndarray, pred: np.ndarray, fold: np.ndarray) -> float:
    """The metric of these rows decided CV-honestly: across their folds, or across inner
    parts where they are one fold's."""
    groups = fold if len(np.unique(fold)) >= 2 else inner_parts(len(y))
    return score_predictions(task, y, pred, groups).score


def decided_trial_value(exp: Experiment, folds: list[int]) -> float:
    """A trained trial's value: its units' validation rows of `folds`, decided."""
    y, pred, fold = validation(exp, folds)
    return decided_score(exp.task, y, pred, fold)
