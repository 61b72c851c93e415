"""Scoring predictions on the folds they were made on: the competition metric and the task's
validation loss, overall and per fold, with the fold-to-fold spread. The one scoring path of
oof, tabular members, the ensemble's candidates and its nested selection, so their figures
always compare.

Where the task decides (`Task.decision`: multilabel F thresholds, ordinal cut-points), the
metric scores the OOF rows decided CV-honestly (fold k with parameters fitted on the other
folds), and the block keeps the decision's summary: the honest CV beside the in-sample fit.
"""

from __future__ import annotations

import numpy as np

from podium.metrics import FoldScore, ScoreBlock
from podium.tasks import Task


def decided_oof(task: Task, y: np.ndarray, pred: np.ndarray, fold: np.ndarray) -> np.ndarray:
    """OOF predictions as the metric scores them: decided CV-honestly where the task decides
    (and the rows span at least two folds), else as they are."""
    if task.decision is None or len(np.unique(fold)) < 2:
        return pred
    return task.decision.fit_cv(y, pred, fold).decided_oof


def score_predictions(task: Task, y: np.ndarray, pred: np.ndarray, fold: np.ndarray) -> ScoreBlock:
    """The metric (of the decided OOF rows) and the validation loss (of the predictions),
    overall and per fold, and what the task's decision fitted."""
    metric, loss = task.metric, task.valid_loss
    fit = None
    scored = pred
    if task.decision is not None and len(np.unique(fold)) >= 2:
        fit = task.decision.fit_cv(y, pred, fold)
        scored = fit.decided_oof
    folds = {
        int(k): FoldScore(
            metric(y[fold == k], scored[fold == k]), loss(y[fold == k], pred[fold == k])
        )
        for k in np.unique(fold)
    }
    secondary = (
        task.decision.secondary(y, pred, scored) if task.decision is not None and fit else {}
    )
    return ScoreBlock(
        metric=metric.name,
        score=metric(y, scored),
        valid_loss=loss(y, pred),
        folds=folds,
        decision=fit.summary if fit is not None else None,
        secondary=secondary,
    )


def report_lines(task: Task, block: ScoreBlock) -> list[str]:
    """What the stages print about a block's fitted decision (thresholds, cut-points) and
    its secondary figures."""
    lines = task.decision.report(block.decision) if task.decision and block.decision else []
    if block.secondary:
        lines.append("  ".join(f"{k} {v:.4f}" for k, v in block.secondary.items()))
    return lines
