"""Metrics of numeric targets (regression; an ordinal task's values): targets `y` (N,) or
(N, T) against predictions of the same shape, in target units. Several targets are scored
per target and averaged with equal weight.

Undefined values get a fixed value rather than nan: Pearson and Spearman of a constant
column score 0.0 (no association can be shown; scipy returns nan); R² with a constant `y`
follows scikit-learn (`force_finite`): 1.0 if perfect, else 0.0.

`MSE` and `MAE` are the validation losses of the value tasks (the mean over rows and targets,
in target units), reported beside the metric as `valid_loss`.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata
from sklearn import metrics as skm

from podium.metrics.base import Metric, registry


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


def _row_squared_error(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    d = np.asarray(p, np.float64) - np.asarray(y, np.float64)
    return (d * d).reshape(len(d), -1).mean(axis=1)


# the validation losses, in target units (mean over rows and targets)
MSE = Metric(
    "mse", lambda y, p: float(_row_squared_error(y, p).mean()), False, "values", _row_squared_error
)
MAE = Metric(
    "mae", lambda y, p: float(row_absolute_error(y, p).mean()), False, "values", row_absolute_error
)

REGRESSION = registry(
    Metric("rmse", rmse, False, "values"),
    Metric("mae", mae, False, "values", row_absolute_error),
    Metric("r2", r2, True, "values"),
    Metric("pearson", pearson, True, "values"),
    Metric("spearman", spearman, True, "values"),
)
