"""The multilabel metrics as `podium.metrics.Metric`s (what every stage calls with `(y, p)`),
and the CV-honest decisions of the F-type ones.

    auc                  mean column-wise ROC AUC (RANZCR)
    average_precision    macro average precision
    log_loss             mean binary cross-entropy (the validation loss)
    f{beta}_{average}    F-beta of decisions, beta 0.5, 1 or 2, average micro, macro or
                         samples (Planet: f2_samples, HPA: f1_macro)

An F metric scores decisions, so its threshold is part of the model. Called on probabilities
(a training epoch's validation fold, ranking candidates on some rows, a bootstrap resample)
it scores them at the best global threshold for those rows: one number fitted in-sample, a
slightly optimistic but stable signal (0.5 is often far from F-best while a network is still
calibrating). Called on decisions (0/1 values) it is the plain F of those decisions.

The CV score never fits on the rows it scores: `oof_decisions` binarises fold k's OOF rows
with thresholds fitted on the other folds (`podium.thresholds.fit_thresholds_cv`: global or
per label, `competition.thresholds`), and fits the submission's thresholds on every OOF row;
both sets go to scores.json (`thresholds`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from podium.metric_fns import (
    average_precision_macro,
    fbeta,
    mean_column_auc,
    multilabel_log_loss,
    row_log_loss,
)
from podium.metrics import Metric
from podium.thresholds import fit_thresholds, fit_thresholds_cv

BETAS = (0.5, 1.0, 2.0)
AVERAGES = ("micro", "macro", "samples")


def _fitted_f(beta: float, average: str):
    def fn(y: np.ndarray, p: np.ndarray) -> float:
        t = fit_thresholds(y, p, beta=beta, average=average)
        return fbeta(y, p, beta, t, average)

    return fn


FBETA: dict[str, tuple[float, str]] = {f"f{b:g}_{a}": (b, a) for b in BETAS for a in AVERAGES}

METRICS: dict[str, Metric] = {
    "auc": Metric("auc", mean_column_auc, True, True),
    "average_precision": Metric("average_precision", average_precision_macro, True, True),
    "log_loss": Metric("log_loss", multilabel_log_loss, False, True, row_log_loss),
    **{name: Metric(name, _fitted_f(b, a), True, False) for name, (b, a) in FBETA.items()},
}


def oof_decisions(
    y: np.ndarray,
    pred: np.ndarray,
    fold: np.ndarray,
    metric: str,
    per_label: bool,
    labels: list[str],
) -> tuple[np.ndarray, dict[str, Any] | None]:
    """(what the metric scores, what was fitted): for an F metric the 0/1 decisions of each
    fold at thresholds fitted without it, and the thresholds (per fold, and on every row for
    the submission); other metrics score the probabilities as they are."""
    if metric not in FBETA:
        return pred, None
    beta, average = FBETA[metric]
    fit = fit_thresholds_cv(y, pred, fold, beta=beta, average=average, per_label=per_label)
    fitted = {"labels": labels, **fit.to_dict()}
    return fit.oof_decisions.astype(np.float64), {"thresholds": fitted}
