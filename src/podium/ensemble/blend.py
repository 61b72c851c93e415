"""Blends of the members' predictions, cross-validated on the members' folds: fold k's
weights are fitted on the other folds' rows only, so a blend's CV is as honest as the stack's.

- `mean`: the plain average.
- the task's fitted blends (`Task.blends`): for classification `blend`, a weighted average
  with simplex weights fitted on the log-loss, and `logit_blend`, a weighted sum of the
  members' log-probabilities whose free scale also acts as a temperature.
"""

from __future__ import annotations

import numpy as np

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
    out = np.zeros_like(oof[0])
    by_fold = []
    for k in np.unique(fold):
        fit_rows, rows = fold != k, fold == k
        by_fold.append(np.asarray(blend.fit([p[fit_rows] for p in oof], y[fit_rows])))
        out[rows] = blend.apply([p[rows] for p in oof], by_fold[-1])
    weights = np.stack(by_fold)
    return out, blend.apply(test, weights.mean(axis=0)), weights
