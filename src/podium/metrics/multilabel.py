"""Metrics of any number of labels per row: targets `y` (N, L) 0/1 against probabilities
`p` (N, L) (independent sigmoids, not a softmax).

    auc                  mean column-wise ROC AUC (RANZCR)
    average_precision    macro average precision
    log_loss             mean binary cross-entropy (the validation loss)
    f{beta}_{average}    F-beta of decisions, beta 0.5, 1 or 2, average micro, macro or
                         samples (Planet: f2_samples, HPA: f1_macro)

An F metric scores decisions. Given decisions (0/1, what `podium.tasks.decisions` makes with
thresholds fitted without each fold) it is their plain F. Given probabilities where no folds
are known (a training epoch's validation fold, a bootstrap resample) it scores them at the
best global threshold for those rows: one number fitted in-sample, a slightly optimistic but
stable signal (0.5 is often far from F-best while a network is still calibrating).

Undefined values get a fixed value rather than nan, so that model selection and the
bootstrap never compare against nan: the mean column AUC skips a label column with a single
class in `y` (and logs the columns); average precision skips a column without positives (a
column of all positives scores 1.0, as in scikit-learn).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
from sklearn import metrics as skm

from podium.metrics.base import Metric, registry
from podium.metrics.fbeta import AVERAGES, BETAS, fbeta, fit_thresholds

_log = logging.getLogger(__name__)

_EPS = float(np.finfo(np.float64).eps)  # log-loss clipping, scikit-learn's for float64


def per_label_auc(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """ROC AUC of each label column, nan where the column of `y` has a single class."""
    y, p = np.asarray(y), np.asarray(p, dtype=np.float64)
    out = np.full(y.shape[1], np.nan)
    for j in range(y.shape[1]):
        if 0 < y[:, j].sum() < len(y):
            out[j] = skm.roc_auc_score(y[:, j], p[:, j])
    return out


def mean_column_auc(y: np.ndarray, p: np.ndarray) -> float:
    """Mean of the per-label ROC AUCs over the columns with both classes (RANZCR's metric)."""
    aucs = per_label_auc(y, p)
    skipped = np.flatnonzero(np.isnan(aucs))
    if len(skipped) == len(aucs):
        _log.warning("mean column AUC: every label column has a single class; AUC is nan")
        return float("nan")
    if len(skipped):
        _log.warning(
            "mean column AUC: skipped label columns %s (a single class in %d rows)",
            skipped.tolist(),
            len(y),
        )
    return float(np.nanmean(aucs))


def average_precision_macro(y: np.ndarray, p: np.ndarray) -> float:
    """Mean over label columns with at least one positive of scikit-learn's average precision."""
    y, p = np.asarray(y), np.asarray(p, dtype=np.float64)
    keep = y.sum(axis=0) > 0
    if not keep.any():
        return float("nan")
    return float(skm.average_precision_score(y[:, keep], p[:, keep], average="macro"))


def _bce(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), _EPS, 1 - _EPS)
    return -(y * np.log(p) + (1 - y) * np.log1p(-p))


def row_log_loss(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Each row's mean binary cross-entropy over its labels."""
    return _bce(y, p).mean(axis=1)


def multilabel_log_loss(y: np.ndarray, p: np.ndarray) -> float:
    """Mean binary cross-entropy over every (row, label), probabilities clipped to
    [eps, 1 - eps] in float64 as scikit-learn's `log_loss` clips them."""
    return float(_bce(y, p).mean())


def _fitted_f(beta: float, average: str) -> Callable[[np.ndarray, np.ndarray], float]:
    def fn(y: np.ndarray, p: np.ndarray) -> float:
        t = fit_thresholds(y, p, beta=beta, average=average)
        return fbeta(y, p, beta, t, average)

    return fn


def _f_metric(beta: float, average: str) -> Metric:
    return Metric(f"f{beta:g}_{average}", _fitted_f(beta, average), True, "decisions")


# F metric name -> (beta, average)
FBETA: dict[str, tuple[float, str]] = {f"f{b:g}_{a}": (b, a) for b in BETAS for a in AVERAGES}

LOG_LOSS = Metric("log_loss", multilabel_log_loss, False, "probabilities", row_log_loss)

MULTILABEL = registry(
    Metric("auc", mean_column_auc, True, "probabilities"),
    Metric("average_precision", average_precision_macro, True, "probabilities"),
    LOG_LOSS,
    *(_f_metric(beta, average) for beta, average in FBETA.values()),
)
