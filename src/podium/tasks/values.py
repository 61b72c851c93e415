"""Numeric targets (regression, ordinal grades): reading them from a table with errors that
name the line, and the metrics and validation losses over values."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from podium.errors import DataError
from podium.metric_fns import REGRESSION_METRICS
from podium.metrics import Metric

__all__ = ["MAE", "METRICS", "MSE", "parse_values"]


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
        bad = ~np.isfinite(values) | raw.isna().to_numpy()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            which = f" (id {table[id_column].iloc[i]!r})" if id_column in table.columns else ""
            value = text.iloc[i]
            what = "an empty value" if value in ("", "nan") else f"{value!r}, not a number"
            raise DataError(f"{path}: line {i + 2}{which}, column {column!r} has {what}")
        out[:, j] = values
    return out
