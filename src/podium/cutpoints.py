"""Cut-points that turn continuous ordinal predictions into grades, fitted for QWK.

A regression head (or a classifier's expected grade) predicts on the grade scale; rounding
to the nearest grade is rarely what maximizes quadratic weighted kappa, so the cut-points
between grades are fitted on OOF predictions, as APTOS solutions did: Nelder-Mead
(`scipy.optimize.minimize`) on -QWK, starting from the midpoints between grades (which is
plain rounding). QWK is piecewise constant in the cuts, so:
- the start simplex steps a quarter of the smallest grade gap along each cut (scipy's
  default 5% step barely moves a cut and stops on the first plateau), and the search restarts
  from its result until a restart no longer improves QWK (at most `restarts` times);
- cuts are kept sorted: the objective sorts them before applying, and so does the result;
- the fitted cuts are kept only if they beat the midpoints on the fitting rows, so fitting
  never does worse than rounding there. Everything is deterministic.

CV-honest, as the blend weights and `podium.thresholds` are: `fit_cutpoints_cv` grades fold
k's rows with cuts fitted on the other folds only (the CV score), and fits the submission's
cuts on every row.

A prediction exactly on a cut goes to the upper grade; below the first cut is the lowest
grade and above the last the highest, so predictions outside the grade range are clipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import minimize

from podium.metric_fns import grade_index, quadratic_weighted_kappa


def _grades(grades: Sequence[int] | np.ndarray) -> np.ndarray:
    g = np.asarray(grades)
    if g.ndim != 1 or len(g) < 2 or np.any(np.diff(g) <= 0):
        raise ValueError(f"grades must be at least two increasing values, got {list(grades)}")
    return g


def midpoint_cuts(grades: Sequence[int] | np.ndarray) -> np.ndarray:
    """The cuts of plain rounding: halfway between neighbouring grades (0.5, 1.5, ...)."""
    g = _grades(grades).astype(np.float64)
    return (g[:-1] + g[1:]) / 2


def apply_cutpoints(
    x: np.ndarray, cuts: np.ndarray, grades: Sequence[int] | np.ndarray | None = None
) -> np.ndarray:
    """Grades of continuous predictions `x`: grade i+1 from `cuts[i]` (inclusive) upwards.
    grades: the G grades for G-1 sorted cuts; default 0..G-1."""
    cuts = np.asarray(cuts, dtype=np.float64)
    g = np.arange(len(cuts) + 1) if grades is None else _grades(grades)
    if len(g) != len(cuts) + 1:
        raise ValueError(f"{len(cuts)} cut-points need {len(cuts) + 1} grades, got {len(g)}")
    return g[np.searchsorted(cuts, np.asarray(x, dtype=np.float64), side="right")]


def fit_cutpoints(
    y: np.ndarray,
    x: np.ndarray,
    grades: Sequence[int] | np.ndarray,
    *,
    restarts: int = 3,
    max_iter: int = 2000,
) -> np.ndarray:
    """Sorted cut-points (G-1,) maximizing QWK of `apply_cutpoints(x, cuts, grades)` against
    the integer grades `y` on these rows; never worse there than `midpoint_cuts(grades)`."""
    g = _grades(grades)
    y, x = np.asarray(y), np.asarray(x, dtype=np.float64)
    if y.shape != x.shape or y.ndim != 1:
        raise ValueError(f"grades {y.shape} and predictions {x.shape} must both be (N,)")
    grade_index(y, g, "target grade")  # a target that is not a grade fails here, by name

    def loss(cuts: np.ndarray) -> float:
        return -quadratic_weighted_kappa(y, apply_cutpoints(x, np.sort(cuts), g), g)

    start = midpoint_cuts(g)
    best, best_loss = start, loss(start)
    step = 0.25 * float(np.diff(g).min())
    for _ in range(1 + restarts):
        simplex = np.vstack([best, best + step * np.eye(len(best))])
        res = minimize(
            loss,
            best,
            method="Nelder-Mead",
            options={"initial_simplex": simplex, "maxiter": max_iter, "xatol": 1e-4},
        )
        if not res.fun < best_loss:
            break
        best, best_loss = np.sort(res.x), float(res.fun)
    return best


@dataclass(frozen=True)
class CutpointFit:
    """Cut-points fitted CV-honestly (see the module docstring)."""

    grades: np.ndarray  # (G,)
    folds: np.ndarray  # (K,) fold ids, in np.unique order
    fold_cuts: np.ndarray  # (K, G-1): row k fitted without fold k's rows
    oof_grades: np.ndarray  # (N,) each row graded with its own fold's cuts
    cuts: np.ndarray  # (G-1,) fitted on every row: for the test predictions
    cv_qwk: float  # QWK of oof_grades: the honest CV score
    fold_qwk: np.ndarray  # (K,) QWK of fold k's rows with fold_cuts[k]
    fit_qwk: float  # QWK of every row at `cuts` (in-sample, optimistic)
    rounded_qwk: float  # QWK of plain rounding (midpoint cuts), for comparison

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (no per-row grades) for the run's scores/cut-points file."""
        folds = self.folds.tolist()
        return {
            "grades": self.grades.tolist(),
            "cuts": self.cuts.tolist(),
            "fold_cuts": {str(k): c.tolist() for k, c in zip(folds, self.fold_cuts, strict=True)},
            "cv_qwk": self.cv_qwk,
            "fold_qwk": {str(k): float(s) for k, s in zip(folds, self.fold_qwk, strict=True)},
            "fit_qwk": self.fit_qwk,
            "rounded_qwk": self.rounded_qwk,
        }


def fit_cutpoints_cv(
    y: np.ndarray,
    x: np.ndarray,
    fold: np.ndarray,
    grades: Sequence[int] | np.ndarray,
    **options: Any,
) -> CutpointFit:
    """Fold k graded with cuts fitted on the other folds' rows (the CV score), and cuts
    fitted on every row (the submission). fold: (N,) fold ids; options go to fit_cutpoints."""
    g = _grades(grades)
    y, x, fold = np.asarray(y), np.asarray(x, dtype=np.float64), np.asarray(fold)
    if fold.shape != y.shape:
        raise ValueError(f"fold has shape {fold.shape}; expected {y.shape}, one id per row")
    folds = np.unique(fold)
    if len(folds) < 2:
        raise ValueError(f"cut-points need at least 2 folds to be fitted CV-honestly, got {folds}")
    fold_cuts = np.zeros((len(folds), len(g) - 1))
    oof = np.zeros(len(y), dtype=g.dtype)
    fold_qwk = np.zeros(len(folds))
    for i, k in enumerate(folds):
        rows = fold == k
        fold_cuts[i] = fit_cutpoints(y[~rows], x[~rows], g, **options)
        oof[rows] = apply_cutpoints(x[rows], fold_cuts[i], g)
        fold_qwk[i] = quadratic_weighted_kappa(y[rows], oof[rows], g)
    cuts = fit_cutpoints(y, x, g, **options)
    return CutpointFit(
        grades=g,
        folds=folds,
        fold_cuts=fold_cuts,
        oof_grades=oof,
        cuts=cuts,
        cv_qwk=quadratic_weighted_kappa(y, oof, g),
        fold_qwk=fold_qwk,
        fit_qwk=quadratic_weighted_kappa(y, apply_cutpoints(x, cuts, g), g),
        rounded_qwk=quadratic_weighted_kappa(y, apply_cutpoints(x, midpoint_cuts(g), g), g),
    )
