"""Competition metrics: a registry of name -> (function, greater_is_better, needs_proba).

Every function takes integer targets `y` (N,) and class probabilities `proba` (N, C) and
returns a float, so the engine, oof, ensemble and tune all score the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn import metrics as skm


class Ranked:
    """What makes a score better: a metric's direction (`greater_is_better`)."""

    greater_is_better: bool

    def better(self, a: float, b: float | None) -> bool:
        """Is score `a` an improvement over `b` (None = no score yet)?"""
        if b is None or not np.isfinite(b):
            return True
        return a > b if self.greater_is_better else a < b

    @property
    def worst(self) -> float:
        return -np.inf if self.greater_is_better else np.inf


@dataclass(frozen=True)
class Metric(Ranked):
    name: str
    fn: Callable[[np.ndarray, np.ndarray], float]
    greater_is_better: bool
    needs_proba: bool
    # the per-row terms whose mean is the metric, where it is one (accuracy, log-loss): lets a
    # bootstrap resample a vector instead of rescoring the whole array each time
    per_row: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None

    def __call__(self, y: np.ndarray, proba: np.ndarray) -> float:
        return float(self.fn(np.asarray(y), np.asarray(proba, dtype=np.float64)))


def _labels(proba: np.ndarray) -> np.ndarray:
    return proba.argmax(axis=1)


def _correct(y: np.ndarray, proba: np.ndarray) -> np.ndarray:
    return (_labels(proba) == y).astype(np.float64)


def _row_log_loss(y: np.ndarray, proba: np.ndarray) -> np.ndarray:
    p = np.clip(proba, 1e-15, 1.0)
    p = p / p.sum(axis=1, keepdims=True)
    return -np.log(p[np.arange(len(y)), y])


def _log_loss(y: np.ndarray, proba: np.ndarray) -> float:
    return float(np.mean(_row_log_loss(y, proba)))


def _auc(y: np.ndarray, proba: np.ndarray) -> float:
    if proba.shape[1] == 2:
        return skm.roc_auc_score(y, proba[:, 1])
    return skm.roc_auc_score(y, proba, multi_class="ovr", labels=np.arange(proba.shape[1]))


METRICS: dict[str, Metric] = {
    m.name: m
    for m in [
        Metric("accuracy", lambda y, p: skm.accuracy_score(y, _labels(p)), True, False, _correct),
        Metric(
            "balanced_accuracy",
            lambda y, p: skm.balanced_accuracy_score(y, _labels(p)),
            True,
            False,
        ),
        Metric("f1_macro", lambda y, p: skm.f1_score(y, _labels(p), average="macro"), True, False),
        Metric("mcc", lambda y, p: skm.matthews_corrcoef(y, _labels(p)), True, False),
        Metric(
            "qwk",
            # every class, so a grade absent from a fold or resample keeps its distances
            lambda y, p: skm.cohen_kappa_score(
                y, _labels(p), labels=np.arange(p.shape[1]), weights="quadratic"
            ),
            True,
            False,
        ),
        Metric("log_loss", _log_loss, False, True, _row_log_loss),
        Metric("auc", _auc, True, True),
    ]
}


def get_metric(name: str) -> Metric:
    if name not in METRICS:
        raise KeyError(f"unknown metric {name!r}; known: {sorted(METRICS)}")
    return METRICS[name]
