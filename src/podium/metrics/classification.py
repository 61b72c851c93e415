"""Metrics of one label per row (multiclass, binary): integer targets `y` (N,) against class
probabilities `proba` (N, C). The decision metrics argmax the probabilities themselves.

log-loss is scikit-learn's `log_loss`: probabilities in float64 (as a submission CSV is
read, so the CV and the scored file agree) clipped to [eps, 1 - eps], eps the float64 machine
epsilon (about 2.2e-16), not renormalised; an exact 0 on the true class costs -log(eps), 36.04.
"""

from __future__ import annotations

import numpy as np
from sklearn import metrics as skm

from podium.metrics.base import Metric, registry

EPS = float(np.finfo(np.float64).eps)  # log-loss clipping, scikit-learn's for float64


def _labels(proba: np.ndarray) -> np.ndarray:
    return proba.argmax(axis=1)


def _correct(y: np.ndarray, proba: np.ndarray) -> np.ndarray:
    return (_labels(proba) == y).astype(np.float64)


def row_log_loss(y: np.ndarray, proba: np.ndarray) -> np.ndarray:
    """Each row's negative log-probability of its class, clipped as scikit-learn clips."""
    p = np.asarray(proba, dtype=np.float64)[np.arange(len(y)), y]
    return -np.log(np.clip(p, EPS, 1 - EPS))


def log_loss(y: np.ndarray, proba: np.ndarray) -> float:
    return float(np.mean(row_log_loss(y, proba)))


def _auc(y: np.ndarray, proba: np.ndarray) -> float:
    if proba.shape[1] == 2:
        return float(skm.roc_auc_score(y, proba[:, 1]))
    return float(skm.roc_auc_score(y, proba, multi_class="ovr", labels=np.arange(proba.shape[1])))


def _qwk(y: np.ndarray, p: np.ndarray) -> float:
    # every class, so a grade absent from a fold or resample keeps its distances
    return float(
        skm.cohen_kappa_score(y, _labels(p), labels=np.arange(p.shape[1]), weights="quadratic")
    )


LOG_LOSS = Metric("log_loss", log_loss, False, "probabilities", row_log_loss)

CLASSIFICATION = registry(
    Metric(
        "accuracy",
        lambda y, p: float(skm.accuracy_score(y, _labels(p))),
        True,
        "decisions",
        _correct,
    ),
    Metric(
        "balanced_accuracy",
        lambda y, p: float(skm.balanced_accuracy_score(y, _labels(p))),
        True,
        "decisions",
    ),
    Metric(
        "f1_macro",
        lambda y, p: float(skm.f1_score(y, _labels(p), average="macro")),
        True,
        "decisions",
    ),
    Metric("mcc", lambda y, p: float(skm.matthews_corrcoef(y, _labels(p))), True, "decisions"),
    Metric("qwk", _qwk, True, "decisions"),
    LOG_LOSS,
    Metric("auc", _auc, True, "probabilities"),
)
