"""Metrics of ordinal grades: quadratic weighted kappa over every grade, and the grade
arithmetic QWK needs (a value's position among the grades, the cuts of plain rounding, grades
of continuous values at given cut-points).

QWK is computed here from a confusion matrix (the cut-point search calls it hundreds of
times). Its distances are the grades' values, as in Kaggle's implementations (a matrix over
every integer rating from the lowest to the highest, weights (i - j)² / (max - min)²): grades
{0, 1, 3, 7} put 3 and 7 four apart, not one. For contiguous grades this equals
scikit-learn's `cohen_kappa_score(..., labels=grades, weights="quadratic")`, which measures
by position in `labels` and so differs where a grade in between is left out. When `y` and
`pred` are the same single grade (chance agreement is already perfect) it is 0.0,
scikit-learn's `replace_undefined_by=0.0`.

A prediction exactly on a cut goes to the upper grade; below the first cut is the lowest
grade and above the last the highest, so predictions outside the grade range are clipped.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from podium.metrics.base import Metric


def grade_index(
    values: np.ndarray, grades: Sequence[int] | np.ndarray, what: str = "grade"
) -> np.ndarray:
    """Positions of `values` in the sorted `grades`; a value that is not a grade is an error."""
    grades = np.asarray(grades)
    if len(grades) < 2 or np.any(np.diff(grades) <= 0):
        raise ValueError(f"grades must be at least two increasing values, got {grades.tolist()}")
    values = np.asarray(values)
    idx = np.clip(np.searchsorted(grades, values), 0, len(grades) - 1)
    bad = np.flatnonzero(grades[idx] != values)
    if len(bad):
        raise ValueError(
            f"{what} {values[bad[0]].item()!r} (row {bad[0]}) is not one of the grades {grades.tolist()}"
        )
    return idx


def quadratic_weighted_kappa(
    y: np.ndarray, pred: np.ndarray, grades: Sequence[int] | np.ndarray
) -> float:
    """Cohen's kappa with quadratic weights on the grades' values: the weight of grades
    g_i, g_j is (g_i - g_j)², so a grade absent from `y` and `pred` (or from `grades`) still
    counts in the distances, as in Kaggle's QWK over every rating from min to max (the
    normalization by (max - min)² cancels in the ratio). Equal to scikit-learn's
    `cohen_kappa_score(..., labels=grades, weights="quadratic")` for contiguous grades."""
    n = len(grades)
    a, b = grade_index(y, grades, "target grade"), grade_index(pred, grades, "predicted grade")
    observed = np.bincount(a * n + b, minlength=n * n).reshape(n, n).astype(np.float64)
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / max(1, len(a))
    g = np.asarray(grades, dtype=np.float64)
    w = (g[:, None] - g[None, :]) ** 2  # by value: grades 3 and 7 are four apart
    den = (w * expected).sum()
    return float(1.0 - (w * observed).sum() / den) if den > 0 else 0.0


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


def rounded_qwk(y: np.ndarray, p: np.ndarray, grades: np.ndarray | None = None) -> float:
    """QWK of the values rounded to the nearest grade (clipped to the grade range); grades
    default to every integer between the lowest and highest target."""
    y = np.asarray(y).reshape(len(y), -1)[:, 0]
    if grades is None:
        grades = np.arange(int(y.min()), max(int(y.max()), int(y.min()) + 1) + 1)
    x = np.asarray(p, np.float64).reshape(len(y), -1)[:, 0]
    return quadratic_weighted_kappa(y, apply_cutpoints(x, midpoint_cuts(grades), grades), grades)


def qwk_metric(grades: np.ndarray | None = None) -> Metric:
    """QWK over `grades` of values rounded to the nearest grade (grades as given, decided by
    cut-points, stay themselves)."""
    return Metric("qwk", lambda y, p: rounded_qwk(y, p, grades), True, "decisions")
