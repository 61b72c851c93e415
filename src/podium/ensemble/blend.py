"""Blends of the members' probabilities, cross-validated on the members' folds: fold k's
weights are fitted on the other folds' rows only, so a blend's CV is as honest as the stack's.

- `mean`: the plain average.
- `blend`: a weighted average; non-negative weights summing to one, fitted on log-loss.
- `logit_blend`: a weighted sum of the members' log-probabilities, softmaxed (a geometric
  blend). Its weights are non-negative but free in scale, so they also act as a temperature:
  a member trained with label smoothing is under-confident, which no probability average can
  undo; this blend can sharpen it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.optimize import minimize
from scipy.special import log_softmax, softmax

from podium.metrics import get_metric

_LOG_LOSS = get_metric("log_loss")
_EPS = 1e-7


def mean_blend(probas: list[np.ndarray]) -> np.ndarray:
    return np.mean(probas, axis=0)


def weighted(probas: list[np.ndarray], weights: np.ndarray) -> np.ndarray:
    return np.tensordot(weights, np.stack(probas), axes=1)


def fit_weights(probas: list[np.ndarray], y: np.ndarray) -> np.ndarray:
    """Simplex weights minimising the log-loss of the weighted mean (SLSQP from equal weights)."""
    m = len(probas)
    if m == 1:
        return np.ones(1)
    stacked = np.stack(probas)  # (M, N, C)

    def loss(w: np.ndarray) -> float:
        return _LOG_LOSS(y, np.tensordot(w, stacked, axes=1))

    result = minimize(
        loss,
        np.full(m, 1.0 / m),
        method="SLSQP",
        bounds=[(0.0, 1.0)] * m,
        constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1.0}],
        options={"maxiter": 500, "ftol": 1e-10},
    )
    w = np.clip(result.x, 0.0, None)
    return w / w.sum()


def _logs(probas: list[np.ndarray]) -> np.ndarray:
    return np.log(np.clip(np.stack(probas), _EPS, 1.0))  # (M, N, C)


def logit_weighted(probas: list[np.ndarray], weights: np.ndarray) -> np.ndarray:
    return softmax(np.tensordot(weights, _logs(probas), axes=1), axis=1)


def fit_logit_weights(probas: list[np.ndarray], y: np.ndarray) -> np.ndarray:
    """Non-negative weights on log-probabilities minimising the log-loss (L-BFGS-B)."""
    logs = _logs(probas)
    rows = np.arange(len(y))

    def loss(w: np.ndarray) -> float:
        return float(-log_softmax(np.tensordot(w, logs, axes=1), axis=1)[rows, y].mean())

    start = np.full(len(probas), 1.0 / len(probas))
    return minimize(loss, start, method="L-BFGS-B", bounds=[(0.0, None)] * len(probas)).x


def blend_cv(
    oof: list[np.ndarray],
    test: list[np.ndarray],
    y: np.ndarray,
    fold: np.ndarray,
    fit: Callable[[list[np.ndarray], np.ndarray], np.ndarray] = fit_weights,
    apply: Callable[[list[np.ndarray], np.ndarray], np.ndarray] = weighted,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(blend OOF, blend test, weights per fold (K, M)): fold k predicted with weights fitted
    on the other folds; the test blend uses the mean of the K weight vectors."""
    out = np.zeros_like(oof[0])
    folds = np.unique(fold)
    weights = np.zeros((len(folds), len(oof)))
    for i, k in enumerate(folds):
        fit_rows, rows = fold != k, fold == k
        weights[i] = fit([p[fit_rows] for p in oof], y[fit_rows])
        out[rows] = apply([p[rows] for p in oof], weights[i])
    return out, apply(test, weights.mean(axis=0)), weights
