"""Cut-points that turn continuous ordinal predictions (N, 1) into grades, fitted for QWK
(or for a plug-in metric that scores grades).

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

The grade arithmetic (`apply_cutpoints`, `midpoint_cuts`, QWK) is `podium.metrics.ordinal`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from scipy.optimize import minimize

from podium.errors import ArtifactError
from podium.metrics import DecisionSummary, Metric
from podium.metrics.ordinal import (
    _grades,
    apply_cutpoints,
    grade_index,
    midpoint_cuts,
    quadratic_weighted_kappa,
)
from podium.tasks.decisions.base import Decision


def fit_cutpoints(
    y: np.ndarray,
    x: np.ndarray,
    grades: Sequence[int] | np.ndarray,
    *,
    score: Callable[[np.ndarray, np.ndarray], float] | None = None,
    restarts: int = 3,
    max_iter: int = 2000,
) -> np.ndarray:
    """Sorted cut-points (G-1,) maximizing `score(y, grades of x)` (default QWK over
    `grades`) against the integer grades `y` on these rows; never worse there than
    `midpoint_cuts(grades)`."""
    g = _grades(grades)
    y, x = np.asarray(y), np.asarray(x, dtype=np.float64)
    if y.shape != x.shape or y.ndim != 1:
        raise ValueError(f"grades {y.shape} and predictions {x.shape} must both be (N,)")
    grade_index(y, g, "target grade")  # a target that is not a grade fails here, by name
    rate = score or (lambda t, p: quadratic_weighted_kappa(t, p, g))

    def loss(cuts: np.ndarray) -> float:
        return -rate(y, apply_cutpoints(x, np.sort(cuts), g))

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


def _column(a: np.ndarray) -> np.ndarray:
    return np.asarray(a).reshape(len(a), -1)[:, 0]


class Cutpoints(Decision):
    """Grades of (N, 1) values at cut-points fitted for QWK over `grades`, or for a plug-in
    `metric` of grades (its direction respected)."""

    kind = "cutpoints"

    def __init__(self, grades: np.ndarray, metric: Metric | None = None) -> None:
        self.grades = np.asarray(grades, dtype=np.int64)
        self.metric = metric

    def _rate(self, y: np.ndarray, grades: np.ndarray) -> float:
        if self.metric is None:
            return quadratic_weighted_kappa(y, grades, self.grades)
        value = self.metric(y[:, None], grades[:, None].astype(np.float64))
        return value if self.metric.greater_is_better else -value

    def fit(self, y: np.ndarray, pred: np.ndarray) -> np.ndarray:
        g = _column(y).astype(np.int64)
        return fit_cutpoints(g, _column(pred), self.grades, score=self._rate)

    def apply(self, pred: np.ndarray, params: np.ndarray) -> np.ndarray:
        x = np.asarray(pred, np.float64)[:, 0]
        return apply_cutpoints(x, params, self.grades)[:, None].astype(np.float64)

    def score(self, y: np.ndarray, decided: np.ndarray) -> float:
        g = _column(y).astype(np.int64)
        if self.metric is None:
            return quadratic_weighted_kappa(g, _column(decided).astype(np.int64), self.grades)
        return self.metric(y, decided)

    def details(self) -> dict[str, Any]:
        return {"grades": self.grades.tolist()}

    def rounded(self, pred: np.ndarray) -> np.ndarray:
        """Values (N, 1) rounded to the nearest grade (clipped to the grade range), (N,)."""
        return apply_cutpoints(
            _column(pred).astype(np.float64), midpoint_cuts(self.grades), self.grades
        )

    def secondary(self, y: np.ndarray, pred: np.ndarray, decided: np.ndarray) -> dict[str, float]:
        """The values' RMSE, the accuracy of the cut grades, and plain rounding's QWK and
        accuracy (what the cut-points improve on)."""
        g, x = _column(y).astype(np.int64), _column(pred).astype(np.float64)
        rounded = self.rounded(pred)
        return {
            "rmse": float(np.sqrt(np.mean((x - g) ** 2))),
            "accuracy": float(np.mean(_column(decided) == g)),
            "rounded_qwk": quadratic_weighted_kappa(g, rounded, self.grades),
            "rounded_accuracy": float(np.mean(rounded == g)),
        }

    def check_params(self, summary: DecisionSummary, source: str) -> None:
        if len(summary.params) != len(self.grades) - 1:
            raise ArtifactError(
                f"{source}: no cut-points for the grades {self.grades.tolist()}; re-run the "
                "stage that wrote it (oof, tabular or ensemble) with --force"
            )

    def report(self, summary: DecisionSummary) -> list[str]:
        cuts = ", ".join(f"{v:.3f}" for v in summary.params)
        return [
            f"cut-points (every OOF row) [{cuts}]: qwk {summary.fit_score:.4f} in-sample; "
            f"CV (cut-points without the fold) {summary.cv_score:.4f}"
        ]
