"""Metrics of ordinal grades: quadratic weighted kappa over every grade, and the grade
arithmetic QWK needs (a value's position among the grades, the cuts of plain rounding, grades
of continuous values at given cut-points).

QWK is computed here from a confusion matrix (the cut-point search calls it hundreds of
times); it equals scikit-learn's `cohen_kappa_score(..., labels=grades,
weights="quadratic")`. When `y` and `pred` are the same single grade (chance agreement is
already perfect) it is 0.0, scikit-learn's `replace_undefined_by=0.0`.

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
    """Cohen's kappa with quadratic weights over every grade in `grades`, so a grade absent
    from `y` and `pred` still counts in the distances (the weight of grades i, j is
    (i - j)² over their positions in the sorted list). Computed from a confusion
    matrix here (the cut-point search calls it hundreds of times); equal to scikit-learn's
    `cohen_kappa_score(..., labels=grades, weights="quadratic")`."""
    n = len(grades)
    a, b = grade_index(y, grades, "target grade"), grade_index(pred, grades, "predicted grade")
    observed = np.bincount(a * n + b, minlength=n * n).reshape(n, n).astype(np.float64)
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / max(1, len(a))
    pos = np.arange(n)
    w = (pos[:, None] - pos[None, :]) ** 2
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
