"""What the value tasks (regression; an ordinal task's grade values) share: reading numeric
targets with errors that name the line, the output scale the network trains on, the
ensemble's blends and XGBRegressor stack over values, quantile-bin folds and the codec of a
submission of values.

Output scale (`ValueScale`). The network never sees raw units: it trains on scaled targets
and `activate` maps its outputs back, so oof/test files, blends, the meta-model and the
submission all work in target units whatever the loss:

    mse, huber, l1   z = (y - mean) / std          pred = out * std + mean
    bce              t = (y - min) / (max - min)   pred = sigmoid(out) * (max - min) + min
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from xgboost import XGBRegressor

from podium.errors import ConfigError, DataError
from podium.metrics.values import MSE
from podium.tasks.blending import fit_simplex_weights, weighted
from podium.tasks.capabilities import Blend, FoldScheme, Stacking, SubmissionCodec

MAX_BINS = 10  # stratification: quantile bins of the target
ROWS_PER_BIN = 25  # at least this many rows per bin (fewer bins on small tables)


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


class ValueScale:
    """The scale a value network trains on (see the module docstring), fitted on every row
    of train.csv: the task has no fold, and `activate` must invert the same scale in oof,
    infer and the trainer. That leaks each validation fold's share of the target's mean/std
    (or min/max) into the scaling of the other folds' training targets: an affine rescale,
    with no row-level information, so the CV it can flatter is negligible."""

    def __init__(self, values: np.ndarray, loss: str) -> None:
        self.loss = loss
        self.low, self.high = values.min(axis=0), values.max(axis=0)
        self.mean, self.std = values.mean(axis=0), values.std(axis=0)
        self.std = np.where(self.std > 0, self.std, 1.0)
        if loss == "bce":
            span = self.high - self.low
            self.center, self.scale = self.low, np.where(span > 0, span, 1.0)
        else:
            self.center, self.scale = self.mean, self.std

    def training_targets(self, y: np.ndarray) -> np.ndarray:
        return ((np.asarray(y, np.float64) - self.center) / self.scale).astype(np.float32)

    def activate(self, logits: np.ndarray) -> np.ndarray:
        out = np.asarray(logits, np.float64)
        if self.loss == "bce":
            out = 0.5 * (1.0 + np.tanh(0.5 * out))  # the sigmoid, overflow-free
        return out * self.scale + self.center

    def merge(self, logits: np.ndarray, how: str, what: str) -> np.ndarray:
        """prob: mean of the values; logit: the value of the mean output (the same unless the
        loss is bce, whose sigmoid is not linear). `what` names the task for the error."""
        if how == "prob":
            return self.activate(logits).mean(axis=0)
        if how == "logit":
            return self.activate(np.asarray(logits).mean(axis=0))
        raise ConfigError(f"infer.merge: {how!r} does not apply to {what} task")


class ValueStacking(Stacking):
    """Blends are the mean and a simplex-weighted mean fitted on MSE; the meta-model is an
    XGBRegressor (`reg:squarederror`) boosted from a blend's values."""

    def __init__(self, columns: list[str]) -> None:
        self.columns = columns

    def blends(self) -> dict[str, Blend]:
        return {"blend": Blend(partial(fit_simplex_weights, loss=MSE), weighted, "weights")}

    def level2_features(
        self, preds: list[np.ndarray], names: list[str], logits: bool, row_stats: bool, mean: bool
    ) -> tuple[np.ndarray, list[str]]:
        """Each member's values; with several members their mean (`mean_proba`) and their
        spread across members (`row_stats`). `logits` has no meaning here."""
        blocks = list(preds)
        out = [f"{name}:{c}" for name in names for c in self.columns]
        if len(preds) > 1:
            stacked = np.stack(preds)
            if mean:
                blocks.append(stacked.mean(axis=0))
                out += [f"mean:{c}" for c in self.columns]
            if row_stats:
                blocks.append(stacked.std(axis=0))
                out += [f"std:{c}" for c in self.columns]
        return np.concatenate(blocks, axis=1), out

    def prior_margin(self, preds: list[np.ndarray], weights: np.ndarray, prior: str) -> np.ndarray:
        values = weighted(preds, weights)
        return values[:, 0] if values.shape[1] == 1 else values

    def meta_estimator(self, params: dict[str, Any]) -> XGBRegressor:
        return XGBRegressor(**params, objective="reg:squarederror", eval_metric="rmse")

    def meta_predict(self, model: Any, x: np.ndarray, margin: np.ndarray | None) -> np.ndarray:
        return np.asarray(model.predict(x, base_margin=margin)).reshape(len(x), -1)


class QuantileFolds(FoldScheme):
    """Quantile bins of the target (of the mean z-score with several): up to 10, with at
    least 25 rows each."""

    def __init__(self, mean: np.ndarray, std: np.ndarray) -> None:
        self.mean, self.std = mean, std

    def stratify_key(self, y: np.ndarray) -> np.ndarray:
        score = ((np.asarray(y, np.float64) - self.mean) / self.std).reshape(len(y), -1).mean(1)
        bins = int(np.clip(len(score) // ROWS_PER_BIN, 1, MAX_BINS))
        if bins == 1:
            return np.zeros(len(score), dtype=np.int64)
        key = pd.qcut(score, q=bins, labels=False, duplicates="drop")
        return np.asarray(key, dtype=np.int64)

    def describe_stratum(self, key: Any) -> str:
        return f"target quantile bin {int(key)}"


class ValueSubmission(SubmissionCodec):
    """One column per target (by name, or the one column of a one-target task); values
    clipped to train.csv's range with `competition.clip`."""

    def __init__(self, targets: list[str], low: np.ndarray, high: np.ndarray, clip: bool) -> None:
        self.targets, self.low, self.high, self.clip = targets, low, high, clip

    def target_of(self, columns: list[str]) -> dict[str, int]:
        """Submission column -> target index."""
        if len(columns) == 1 and len(self.targets) == 1:
            return {columns[0]: 0}
        unknown = [c for c in columns if c not in self.targets]
        if unknown:
            raise DataError(f"sample_submission columns {unknown} are not targets {self.targets}")
        return {c: self.targets.index(c) for c in columns}

    def values(self, pred: np.ndarray, columns: list[str]) -> dict[str, np.ndarray]:
        out = {}
        for column, j in self.target_of(columns).items():
            values = pred[:, j]
            out[column] = np.clip(values, self.low[j], self.high[j]) if self.clip else values
        return out

    def check_column(self, values: pd.Series, column: str, source: str) -> None:
        num = pd.to_numeric(values, errors="coerce").to_numpy(np.float64)
        bad = ~np.isfinite(num)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataError(
                f"{source}: line {i + 2}, column {column!r} = {values.iloc[i]!r} is not a number"
            )

    def predictions(self, sub: pd.DataFrame, columns: list[str]) -> np.ndarray:
        pred = np.zeros((len(sub), len(self.targets)))
        for column, j in self.target_of(columns).items():
            pred[:, j] = sub[column].astype(float)
        return pred
