"""Scoring predictions on the folds they were made on: the competition metric and the task's
validation loss, overall and per fold, with the fold-to-fold spread. The one scoring path of
oof, tabular members and the ensemble's candidates, so their figures always compare."""

from __future__ import annotations

from typing import Any

import numpy as np

from podium.tasks import Task


def score_block(task: Task, y: np.ndarray, pred: np.ndarray, fold: np.ndarray) -> dict[str, Any]:
    """{metric: overall, "log_loss": overall, fold_mean, fold_std, folds: {k: {...}}}, and
    what the task fitted on the OOF rows to score them (multilabel: "thresholds").

    "log_loss" is the task's validation loss (the log-loss for classification). The metric
    scores the task's `oof_decisions`: fold k's decided with rules fitted without fold k
    (multilabel thresholds); a task whose decisions change the metric's scale afterwards
    (ordinal cut-points) re-scores the block in `Task.decided_scores`."""
    metric = task.metric()
    decided, fitted = task.oof_decisions(y, pred, fold)
    per_fold = {
        int(k): {
            metric.name: metric(y[fold == k], decided[fold == k]),
            "log_loss": task.validation_loss(y[fold == k], pred[fold == k]),
        }
        for k in np.unique(fold)
    }
    values = [v[metric.name] for v in per_fold.values()]
    block = {
        metric.name: metric(y, decided),
        "log_loss": task.validation_loss(y, pred),
        "fold_mean": float(np.mean(values)),
        "fold_std": float(np.std(values)),
        "folds": per_fold,
        **(fitted or {}),
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


def decision_note(block: dict[str, Any]) -> str | None:
    """One line for a report where the score block holds fitted decision thresholds
    (multilabel F metrics): the submission's thresholds and the honest vs in-sample F."""
    fitted = block.get("thresholds")
    if not fitted:
        return None
    t = np.asarray(fitted["thresholds"])
    shown = " ".join(f"{v:.2f}" for v in t) if fitted["per_label"] else f"{t[0]:.2f}"
    return (
        f"thresholds ({'per label' if fitted['per_label'] else 'global'}, fitted on every OOF "
        f"row, for the submission): {shown}; F with thresholds fitted without each fold "
        f"{fitted['cv_score']:.4f} (the CV), on every row {fitted['fit_score']:.4f} (in-sample)"
    )
