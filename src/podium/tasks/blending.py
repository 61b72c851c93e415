"""Task-agnostic blend numerics: weighted means of the members' predictions, with simplex
weights fitted to minimise a task's loss. Tasks build their blends from these."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.optimize import minimize


def weighted(preds: list[np.ndarray], weights: np.ndarray) -> np.ndarray:
    return np.tensordot(weights, np.stack(preds), axes=1)


def fit_simplex_weights(
    preds: list[np.ndarray], y: np.ndarray, loss: Callable[[np.ndarray, np.ndarray], float]
) -> np.ndarray:
    """Non-negative weights summing to one that minimise `loss(y, weighted mean)` (SLSQP from
    equal weights)."""
    m = len(preds)
    if m == 1:
        return np.ones(1)
    stacked = np.stack(preds)  # (M, N, C)

    def objective(w: np.ndarray) -> float:
        return loss(y, np.tensordot(w, stacked, axes=1))

    result = minimize(
        objective,
        np.full(m, 1.0 / m),
        method="SLSQP",
        bounds=[(0.0, 1.0)] * m,
        constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1.0}],
        options={"maxiter": 500, "ftol": 1e-10},
    )
    w = np.clip(result.x, 0.0, None)
    return w / w.sum()
