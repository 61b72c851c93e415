"""Blends of the members' probabilities: the plain mean, and a weighted mean whose weights
(non-negative, summing to one) minimise the log-loss on OOF rows. Both are cross-validated on
the members' folds: fold k's weights are fitted on the other folds' rows only, so the blend's
CV is as honest as the stack's.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize

from podium.metrics import get_metric

_LOG_LOSS = get_metric("log_loss")


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


def weighted_blend_cv(
    oof: list[np.ndarray], test: list[np.ndarray], y: np.ndarray, fold: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(blend OOF, blend test, weights per fold (K, M)): fold k predicted with weights fitted on
    the other folds; the test blend uses the mean of the K weight vectors."""
    out = np.zeros_like(oof[0])
    folds = np.unique(fold)
    weights = np.zeros((len(folds), len(oof)))
    for i, k in enumerate(folds):
        fit_rows, rows = fold != k, fold == k
        weights[i] = fit_weights([p[fit_rows] for p in oof], y[fit_rows])
        out[rows] = weighted([p[rows] for p in oof], weights[i])
    return out, weighted(test, weights.mean(axis=0)), weights
