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


def blend_cv(
    oof: list[np.ndarray],
    test: list[np.ndarray],
    y: np.ndarray,
    fold: np.ndarray,
    blend: Blend,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(blend OOF, blend test, weights per fold (K, M), or (K, M, L) for per-label weights):
    fold k predicted with weights fitted on the other folds; the test blend uses the mean of
    the K weight vectors."""
    fitted = cross_fit(
        fold,
        fit=lambda rows: np.asarray(blend.fit([p[rows] for p in oof], y[rows])),
        apply=lambda weights, rows: blend.apply([p[rows] for p in oof], weights),
        out=np.zeros_like(oof[0]),
    )
    weights = np.stack(fitted.params)
    return fitted.oof, blend.apply(test, weights.mean(axis=0)), weights
