"""The weighted multi-target log-loss of several targets per row (RSNA abdominal trauma 2023,
RSNA lumbar spine 2024): targets `y` (N, T) class indices, -1 where a label is missing,
against predictions (N, sum K_t), each target's K_t class probabilities side by side.

For target t with class weights w_t (one per class) and labelled rows L_t = {i: y_it >= 0}:

    p_i    the row's K_t probabilities divided by their sum, clipped to [1e-15, 1 - 1e-15]
    l_t  = sum_{i in L_t} w_t[y_it] * -log p_i[y_it]  /  sum_{i in L_t} w_t[y_it]

i.e. scikit-learn's `log_loss(y, p, sample_weight=w_t[y])`, RSNA's per-target term. Targets
that share a `group` are pooled: their (row, target) terms are summed over the group and
divided by the group's summed weights (RSNA 2024 pools the levels of one condition). The
score is the mean of the terms of the groups (a target without a group is its own) that have
at least one labelled row in the rows scored (a fold may lack a rare target):

    weighted_log_loss = mean_g l_g

RSNA's derived `any_injury` / `any_severe_spinal` terms (a max over targets, with their own
weights) are not part of it; a plug-in metric (Kaggle's `score` pasted) scores them exactly.
`mean_log_loss` is the same with every weight 1 (the task's validation loss).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from podium.metrics.base import Metric

EPS = 1e-15


@dataclass(frozen=True)
class Head:
    """One target's block of the predictions, as the metric reads it."""

    name: str
    offset: int  # its first column in the predictions
    weights: tuple[float, ...]  # one per class
    group: str  # the term it is pooled in (its own name where the config gives none)

    @property
    def width(self) -> int:
        return len(self.weights)


def target_terms(
    y: np.ndarray, pred: np.ndarray, head: Head, j: int, weighted: bool = True
) -> tuple[float, float]:
    """(sum of weighted -log p, sum of weights) of target `head` (column `j` of `y`)."""
    labels = np.asarray(y)[:, j].astype(np.int64)
    rows = labels >= 0
    if not rows.any():
        return 0.0, 0.0
    block = np.asarray(pred, np.float64)[rows, head.offset : head.offset + head.width]
    block = block / np.clip(block.sum(axis=1, keepdims=True), EPS, None)
    p = np.clip(block[np.arange(len(block)), labels[rows]], EPS, 1 - EPS)
    w = np.asarray(head.weights, np.float64)[labels[rows]] if weighted else np.ones(len(p))
    return float((w * -np.log(p)).sum()), float(w.sum())


def group_losses(
    y: np.ndarray, pred: np.ndarray, heads: Sequence[Head], weighted: bool = True
) -> dict[str, float]:
    """Each group's pooled weighted log-loss; groups without a labelled row are left out."""
    sums: dict[str, list[float]] = {}
    for j, head in enumerate(heads):
        loss, weight = target_terms(y, pred, head, j, weighted)
        acc = sums.setdefault(head.group, [0.0, 0.0])
        acc[0] += loss
        acc[1] += weight
    return {g: loss / weight for g, (loss, weight) in sums.items() if weight > 0}


def multitarget_log_loss(
    y: np.ndarray, pred: np.ndarray, heads: Sequence[Head], weighted: bool = True
) -> float:
    """The mean over groups of `group_losses` (nan where no target has a labelled row)."""
    losses = group_losses(y, pred, heads, weighted)
    return float(np.mean(list(losses.values()))) if losses else float("nan")


def multitarget_metrics(heads: Sequence[Head]) -> tuple[Metric, Metric]:
    """(weighted_log_loss, mean_log_loss) of a task's heads."""
    frozen = tuple(heads)
    return (
        Metric(
            "weighted_log_loss",
            lambda y, p: multitarget_log_loss(y, p, frozen),
            False,
            "probabilities",
        ),
        Metric(
            "mean_log_loss",
            lambda y, p: multitarget_log_loss(y, p, frozen, weighted=False),
            False,
            "probabilities",
        ),
    )
