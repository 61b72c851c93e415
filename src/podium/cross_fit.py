"""Fit on the other folds, apply to fold k: the one loop behind every CV-honest number that
is fitted on labels (decision thresholds and cut-points, blend weights, the stack's
meta-models, the ensemble's nested selection). scikit-learn's `cross_val_predict` is the
analogue; this one keeps what each fold fitted, because the reports show it and the bundle
carries it.

    fitted = cross_fit(fold, fit=lambda rows: ..., apply=lambda params, rows: ..., out=...)
    fitted.params[i]   # fitted without the rows of fold fitted.folds[i]
    fitted.oof         # each row's output from the params its fold did not see

`fit(rows)` receives a boolean mask of the rows it may use (every fold but k) and returns
anything; `apply(params, rows)` receives those params and the mask of fold k's rows and
returns their outputs, which are written into `out` (an array of the outputs' shape for every
row, e.g. `np.zeros_like(pred)`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np

P = TypeVar("P")


@dataclass(frozen=True)
class CrossFit(Generic[P]):
    folds: np.ndarray  # (K,) fold ids, in np.unique order
    params: list[P]  # params[i] fitted without the rows of fold folds[i]
    oof: np.ndarray  # every row's output, from its own fold's params


def cross_fit(
    fold: np.ndarray,
    fit: Callable[[np.ndarray], P],
    apply: Callable[[P, np.ndarray], np.ndarray],
    out: np.ndarray,
) -> CrossFit[P]:
    """For each fold k (ascending): params = fit(rows outside k); out[k] = apply(params, k)."""
    fold = np.asarray(fold)
    folds = np.unique(fold)
    if len(folds) < 2:
        raise ValueError(f"fitting CV-honestly needs at least 2 folds, got {folds.tolist()}")
    params: list[P] = []
    for k in folds:
        rows = fold == k
        params.append(fit(~rows))
        out[rows] = apply(params[-1], rows)
    return CrossFit(folds, params, out)
