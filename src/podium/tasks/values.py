"""Numeric targets (regression, ordinal grades): reading them from a table with errors that
name the line, and the metrics and validation losses over values."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from podium.errors import DataError
from podium.metric_fns import REGRESSION_METRICS
from podium.metrics import Metric

__all__ = ["MAE", "METRICS", "MSE", "parse_values", "warn_far_values"]

_log = logging.getLogger(__name__)

# a target this many robust standard deviations (1.4826 x the median absolute deviation) from
# the median is warned: far enough that heavy-tailed targets (prices, counts) pass, near
# enough that a unit typo (1e39, 35000 for an age) is named before it dominates the loss
FAR_ROBUST_Z = 1000.0


def _row_squared_error(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    d = np.asarray(p, np.float64) - np.asarray(y, np.float64)
    return (d * d).reshape(len(d), -1).mean(axis=1)


def _row_absolute_error(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    d = np.asarray(p, np.float64) - np.asarray(y, np.float64)
    return np.abs(d).reshape(len(d), -1).mean(axis=1)


# the validation losses, in target units (mean over rows and targets)
MSE = Metric(
    "mse", lambda y, p: float(_row_squared_error(y, p).mean()), False, False, _row_squared_error
)
MAE = Metric(
    "mae", lambda y, p: float(_row_absolute_error(y, p).mean()), False, False, _row_absolute_error
)

METRICS: dict[str, Metric] = {
    name: Metric(name, m.fn, m.greater_is_better, needs_proba=False, per_row=m.per_row)
    for name, m in REGRESSION_METRICS.items()
}


def parse_values(table: pd.DataFrame, columns: list[str], id_column: str, path: Path) -> np.ndarray:
    """(N, T) float64 targets; an empty, non-numeric or infinite value names its line and id."""
    out = np.empty((len(table), len(columns)), dtype=np.float64)
    for j, column in enumerate(columns):
        raw = table[column]
        text = raw.astype(str).str.strip()
        values = pd.to_numeric(text, errors="coerce").to_numpy(np.float64)
        with np.errstate(over="ignore"):  # a square that overflows: no loss or RMSE is finite
            bad = ~np.isfinite(values * values) | raw.isna().to_numpy()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            which = f" (id {table[id_column].iloc[i]!r})" if id_column in table.columns else ""
            value = text.iloc[i]
            what = (
                f"{value!r}, too large to score (its square is not a finite float64)"
                if np.isfinite(values[i])
                else "an empty value"
                if value in ("", "nan")
                else f"{value!r}, not a number"
            )
            raise DataError(f"{path}: line {i + 2}{which}, column {column!r} has {what}")
        out[:, j] = values
    return out


def warn_far_values(
    values: np.ndarray, table: pd.DataFrame, columns: list[str], path: Path, id_column: str
) -> None:
    """Warn (once per column) where targets lie more than FAR_ROBUST_Z robust standard
    deviations from the column's median, naming the farthest one's line and id; a column
    without spread (its median absolute deviation and mean absolute deviation both 0) has no
    scale to measure by."""
    for j, column in enumerate(columns):
        v = values[:, j]
        median = float(np.median(v))
        deviation = np.abs(v - median)
        scale = 1.4826 * float(np.median(deviation)) or 1.2533 * float(deviation.mean())
        if scale == 0:
            continue
        far = np.flatnonzero(deviation / scale > FAR_ROBUST_Z)
        if far.size:
            i = int(far[np.argmax(deviation[far])])
            _log.warning(
                "%s: column %r: %d value(s) lie more than %g robust standard deviations from "
                "the median %.6g (the farthest: line %d, id %r = %.6g); they will dominate the "
                "loss and the CV: fix or drop them, or transform the target",
                path,
                column,
                far.size,
                FAR_ROBUST_Z,
                median,
                i + 2,
                table[id_column].iloc[i],
                v[i],
            )
