"""Blends of the members' predictions, cross-validated on the members' folds: fold k's
weights are fitted on the other folds' rows only (`podium.cross_fit`), so a blend's CV is as
honest as the stack's.

- `mean`: the plain average.
- the task's fitted blends (`Task.stacking.blends`): for classification `blend`, a weighted
  average with simplex weights fitted on the log-loss, and `logit_blend`, a weighted sum of
  the members' log-probabilities whose free scale also acts as a temperature.
"""

from __future__ import annotations

import numpy as np

from podium.cross_fit import cross_fit
from podium.tasks import Blend


def mean_blend(preds: list[np.ndarray]) -> np.ndarray:
    return np.mean(preds, axis=0)


def shrink_weights(weights: np.ndarray, shrink: float) -> np.ndarray:
    """Fitted weights (M,) or per-label (M, L) moved `shrink` of the way (0..1) towards equal
    weights of the same total: 0 keeps them, 1 makes every member's weight their mean (the
    plain average for simplex weights; for log-probability weights the same scale, so the
    temperature the fit chose is kept)."""
    w = np.asarray(weights, dtype=float)
    return (1.0 - shrink) * w + shrink * w.mean(axis=0, keepdims=True)


def blend_cv(
    oof: list[np.ndarray],
    test: list[np.ndarray],
    y: np.ndarray,
    fold: np.ndarray,
    blend: Blend,
    shrink: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(blend OOF, blend test, weights per fold (K, M), or (K, M, L) for per-label weights):
    fold k predicted with weights fitted on the other folds (then shrunk towards equal by
    `shrink`, `shrink_weights`); the test blend uses the mean of the K weight vectors."""

    def fit(rows: np.ndarray) -> np.ndarray:
        return shrink_weights(np.asarray(blend.fit([p[rows] for p in oof], y[rows])), shrink)

    fitted = cross_fit(
        fold,
        fit=fit,
        apply=lambda weights, rows: blend.apply([p[rows] for p in oof], weights),
        out=np.zeros_like(oof[0]),
    )
    weights = np.stack(fitted.params)
    return fitted.oof, blend.apply(test, weights.mean(axis=0)), weights
