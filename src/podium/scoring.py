"""Scoring predictions on the folds they were made on: the competition metric and the task's
validation loss, overall and per fold, with the fold-to-fold spread. The one scoring path of
oof, tabular members and the ensemble's candidates, so their figures always compare."""

from __future__ import annotations

from typing import Any

import numpy as np

from podium.tasks import Task


def score_block(task: Task, y: np.ndarray, pred: np.ndarray, fold: np.ndarray) -> dict[str, Any]:
    """{metric: overall, "log_loss": overall, fold_mean, fold_std, folds: {k: {...}}}.

    "log_loss" is the task's validation loss (the log-loss for classification). A task that
    decides with something fitted on OOF rows (ordinal cut-points) re-scores the metric with
    fold k decided by what the other folds fitted, and keeps the fit (`Task.decided_scores`)."""
    metric = task.metric()
    per_fold = {
        int(k): {
            metric.name: metric(y[fold == k], pred[fold == k]),
            "log_loss": task.validation_loss(y[fold == k], pred[fold == k]),
        }
        for k in np.unique(fold)
    }
    values = [v[metric.name] for v in per_fold.values()]
    block = {
        metric.name: metric(y, pred),
        "log_loss": task.validation_loss(y, pred),
        "fold_mean": float(np.mean(values)),
        "fold_std": float(np.std(values)),
        "folds": per_fold,
    }
    return task.decided_scores(y, pred, fold, block)


def scores_header(task: Task, block: dict[str, Any]) -> dict[str, Any]:
    """The head of every scores.json: which metric, its direction, the CV and the loss."""
    metric = task.metric()
    return {
        "metric": metric.name,
        "greater_is_better": metric.greater_is_better,
        "cv": block[metric.name],
        "log_loss": block["log_loss"],
    }
