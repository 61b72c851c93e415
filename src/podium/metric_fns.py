"""Metric functions for the multilabel, regression and ordinal tasks, over plain arrays.

`podium.metrics` scores integer class targets against class probabilities (multiclass and
binary). The new tasks score other shapes, so their metrics live here, one registry per task
kind, each entry shaped like `metrics.Metric`: a function, its direction, and what it reads.

    multilabel  y (N, L) 0/1, p (N, L) probabilities (independent sigmoids, not a softmax)
    regression  y (N,) or (N, T) values, p the same shape; several targets are scored per
                target and averaged with equal weight
    ordinal     y (N,) integer grades, p (N,) integer grades (continuous predictions go
                through `podium.cutpoints` first) and `grades=`, the list of every grade

Pure numpy / scikit-learn / scipy, no torch: the ensemble, tune and the notebooks import it.
Undefined values are given a fixed value rather than nan, so that model selection and the
bootstrap never compare against nan:

- mean column-wise ROC AUC skips a label column with a single class in `y` (AUC undefined)
  and logs a warning naming the columns; if every column has one class it is nan.
- average precision skips a label column without positives (recall undefined); a column
  that is all positives scores 1.0, as in scikit-learn.
- F-beta: a label (macro), row (samples) or the whole array (micro) with no true and no
  predicted positives scores 1.0: nothing to find and nothing wrongly found (scikit-learn's
  `zero_division=1.0`); the F value otherwise comes from the counts, so a label that is
  absent but predicted scores 0.
- Pearson and Spearman: a target where `y` or `p` is constant scores 0.0 (no association
  can be shown; scipy returns nan).
- R² with a constant `y` follows scikit-learn (`force_finite`): 1.0 if perfect, else 0.0.
- quadratic weighted kappa when `y` and `pred` are the same single grade (chance agreement
  is already perfect) is 0.0, scikit-learn's `replace_undefined_by=0.0`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import rankdata
from sklearn import metrics as skm

from podium.metrics import Ranked

logger = logging.getLogger(__name__)

_EPS = 1e-15  # log-loss clipping, as podium.metrics


@dataclass(frozen=True)
class TaskMetric(Ranked):
    """One metric of a task kind.

    `needs_scores`: reads continuous scores (probabilities or values), not decisions.
    `needs_threshold`: binarises multilabel probabilities and takes `threshold=` (a float or
    one per label; default 0.5), which `podium.thresholds` fits on OOF rows.
    `per_row`: the per-row terms whose mean is the metric, where it is one, so a bootstrap
    can resample a vector instead of rescoring.
    Keyword options (`threshold=`, `grades=`) are passed through to `fn` and `per_row`.
    """

    name: str
    fn: Callable[..., float]
    greater_is_better: bool
    needs_scores: bool
    needs_threshold: bool = False
    per_row: Callable[..., np.ndarray] | None = None

    def __call__(self, y: np.ndarray, p: np.ndarray, **options: Any) -> float:
        return float(self.fn(np.asarray(y), np.asarray(p), **options))


# --- multilabel ------------------------------------------------------------------------------


def per_label_auc(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """ROC AUC of each label column, nan where the column of `y` has a single class."""
    y, p = np.asarray(y), np.asarray(p, dtype=np.float64)
    out = np.full(y.shape[1], np.nan)
    for j in range(y.shape[1]):
        if 0 < y[:, j].sum() < len(y):
            out[j] = skm.roc_auc_score(y[:, j], p[:, j])
    return out


def mean_column_auc(y: np.ndarray, p: np.ndarray) -> float:
    """Mean of the per-label ROC AUCs over the columns with both classes (RANZCR's metric)."""
    aucs = per_label_auc(y, p)
    skipped = np.flatnonzero(np.isnan(aucs))
    if len(skipped) == len(aucs):
        logger.warning("mean column AUC: every label column has a single class; AUC is nan")
        return float("nan")
    if len(skipped):
        logger.warning(
            "mean column AUC: skipped label columns %s (a single class in %d rows)",
            skipped.tolist(),
            len(y),
        )
    return float(np.nanmean(aucs))


def average_precision_macro(y: np.ndarray, p: np.ndarray) -> float:
    """Mean over label columns with at least one positive of scikit-learn's average precision."""
    y, p = np.asarray(y), np.asarray(p, dtype=np.float64)
    keep = y.sum(axis=0) > 0
    if not keep.any():
        return float("nan")
    return float(skm.average_precision_score(y[:, keep], p[:, keep], average="macro"))


def _bce(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), _EPS, 1 - _EPS)
    return -(y * np.log(p) + (1 - y) * np.log1p(-p))


def row_log_loss(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Each row's mean binary cross-entropy over its labels."""
    return _bce(y, p).mean(axis=1)


def multilabel_log_loss(y: np.ndarray, p: np.ndarray) -> float:
    """Mean binary cross-entropy over every (row, label) (probabilities clipped to 1e-15)."""
    return float(_bce(y, p).mean())


def binarize(p: np.ndarray, threshold: float | np.ndarray = 0.5) -> np.ndarray:
    """Decisions `p >= threshold` (threshold a float or one per label column)."""
    return np.asarray(p) >= np.asarray(threshold, dtype=np.float64)


def f_from_counts(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray, beta: float) -> np.ndarray:
    """F-beta from counts, 1.0 where tp = fp = fn = 0 (see the module docstring)."""
    b2 = beta * beta
    num = (1 + b2) * np.asarray(tp, dtype=np.float64)
    den = num + b2 * fn + fp
    return np.divide(num, den, out=np.ones_like(num), where=den > 0)


def row_fbeta(
    y: np.ndarray, p: np.ndarray, beta: float, threshold: float | np.ndarray = 0.5
) -> np.ndarray:
    """Each row's F-beta at `threshold` (whose mean is the samples average)."""
    y, pred = np.asarray(y).astype(bool), binarize(p, threshold)
    tp = (y & pred).sum(axis=1)
    return f_from_counts(tp, pred.sum(axis=1) - tp, y.sum(axis=1) - tp, beta)


def fbeta(
    y: np.ndarray,
    p: np.ndarray,
    beta: float,
    threshold: float | np.ndarray = 0.5,
    average: str = "micro",
) -> float:
    """F-beta of the decisions `p >= threshold`, averaged "micro" (pooled counts), "macro"
    (mean over labels) or "samples" (mean over rows)."""
    if average == "samples":
        return float(row_fbeta(y, p, beta, threshold).mean())
    y, pred = np.asarray(y).astype(bool), binarize(p, threshold)
    tp = (y & pred).sum(axis=0)
    fp, fn = pred.sum(axis=0) - tp, y.sum(axis=0) - tp
    if average == "micro":
        return float(f_from_counts(tp.sum(), fp.sum(), fn.sum(), beta))
    if average == "macro":
        return float(f_from_counts(tp, fp, fn, beta).mean())
    raise ValueError(f"average={average!r}; expected 'micro', 'macro' or 'samples'")


def _f_metric(beta: float, average: str) -> TaskMetric:
    name = f"f{beta:g}_{average}"

    def fn(y: np.ndarray, p: np.ndarray, threshold: float | np.ndarray = 0.5) -> float:
        return fbeta(y, p, beta, threshold, average)

    def per_row(y: np.ndarray, p: np.ndarray, threshold: float | np.ndarray = 0.5) -> np.ndarray:
        return row_fbeta(y, p, beta, threshold)

    return TaskMetric(
        name,
        fn,
        True,
        False,
        needs_threshold=True,
        per_row=per_row if average == "samples" else None,
    )


MULTILABEL_METRICS: dict[str, TaskMetric] = {
    m.name: m
    for m in [
        TaskMetric("auc", mean_column_auc, True, True),
        TaskMetric("average_precision", average_precision_macro, True, True),
        TaskMetric("log_loss", multilabel_log_loss, False, True, per_row=row_log_loss),
        *(_f_metric(b, a) for b in (1.0, 2.0) for a in ("micro", "macro", "samples")),
    ]
}


# --- regression ------------------------------------------------------------------------------


def _columns(y: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, T) float views of targets and predictions of shape (N,) or (N, T)."""
    y, p = np.asarray(y, dtype=np.float64), np.asarray(p, dtype=np.float64)
    if y.shape != p.shape:
        raise ValueError(f"targets have shape {y.shape} but predictions {p.shape}")
    return (y[:, None], p[:, None]) if y.ndim == 1 else (y, p)


def rmse(y: np.ndarray, p: np.ndarray) -> float:
    """Root mean squared error per target, then the mean over targets."""
    return float(skm.root_mean_squared_error(*_columns(y, p)))


def mae(y: np.ndarray, p: np.ndarray) -> float:
    """Mean absolute error per target, then the mean over targets."""
    return float(skm.mean_absolute_error(*_columns(y, p)))


def row_absolute_error(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Each row's mean absolute error over its targets (whose mean is `mae`)."""
    y, p = _columns(y, p)
    return np.abs(y - p).mean(axis=1)


def r2(y: np.ndarray, p: np.ndarray) -> float:
    """R² per target, then the mean over targets (scikit-learn's `r2_score`)."""
    return float(skm.r2_score(*_columns(y, p)))


def _pearson_columns(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    yc, pc = y - y.mean(axis=0), p - p.mean(axis=0)
    den = np.sqrt((yc * yc).sum(axis=0) * (pc * pc).sum(axis=0))
    r = np.divide((yc * pc).sum(axis=0), den, out=np.zeros(y.shape[1]), where=den > 0)
    return np.clip(r, -1.0, 1.0)


def pearson(y: np.ndarray, p: np.ndarray) -> float:
    """Pearson correlation per target, then the mean; 0.0 for a constant column."""
    return float(_pearson_columns(*_columns(y, p)).mean())


def spearman(y: np.ndarray, p: np.ndarray) -> float:
    """Spearman correlation (Pearson of average ranks) per target, then the mean; 0.0 for a
    constant column."""
    y, p = _columns(y, p)
    return float(_pearson_columns(rankdata(y, axis=0), rankdata(p, axis=0)).mean())


REGRESSION_METRICS: dict[str, TaskMetric] = {
    m.name: m
    for m in [
        TaskMetric("rmse", rmse, False, True),
        TaskMetric("mae", mae, False, True, per_row=row_absolute_error),
        TaskMetric("r2", r2, True, True),
        TaskMetric("pearson", pearson, True, True),
        TaskMetric("spearman", spearman, True, True),
    ]
}


# --- ordinal ---------------------------------------------------------------------------------


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


ORDINAL_METRICS: dict[str, TaskMetric] = {
    "qwk": TaskMetric("qwk", quadratic_weighted_kappa, True, False),
}


TASK_METRICS: dict[str, dict[str, TaskMetric]] = {
    "multilabel": MULTILABEL_METRICS,
    "regression": REGRESSION_METRICS,
    "ordinal": ORDINAL_METRICS,
}


def get_task_metric(task: str, name: str) -> TaskMetric:
    if task not in TASK_METRICS:
        raise KeyError(f"unknown task {task!r}; known: {sorted(TASK_METRICS)}")
    if name not in TASK_METRICS[task]:
        raise KeyError(f"unknown {task} metric {name!r}; known: {sorted(TASK_METRICS[task])}")
    return TASK_METRICS[task][name]
