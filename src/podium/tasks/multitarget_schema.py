"""The targets of a multitarget task read from its config and train table: one `Target`
record per target column (its classes in order, class weights, score group, submission
columns and its block of the model's outputs), and the columns' values encoded as class
indices, -1 where a label is missing (an empty cell or 'nan': RSNA 2024 leaves some levels
unlabelled). A value that is not one of the target's classes is a DataError naming the file,
the line, the id and the column.

A target may also be written as one 0/1 column per class (RSNA 2023's train.csv:
`bowel_healthy, bowel_injury, ...`; `labels_from_one_hot`, the task's `read_layout`): its
label column is made from them where the config gives its classes.

A value matches a class as written, or as the same number ('1.0' is class '1': pandas writes
an integer column with missing cells as floats).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from podium.config import CompetitionConfig
from podium.errors import ConfigError, DataError
from podium.metrics.multitarget import Head


@dataclass(frozen=True)
class Target:
    """One target column: its classes (the second is a binary target's positive one), a
    weight per class, its score group, its sample-submission column per class and its block
    of the model's outputs (`offset`, width = its classes)."""

    name: str
    kind: str
    classes: tuple[str, ...]
    weights: tuple[float, ...]
    group: str
    offset: int
    columns: dict[str, str] = field(default_factory=dict)  # class -> sample_submission column

    @property
    def width(self) -> int:
        return len(self.classes)

    @property
    def block(self) -> slice:
        return slice(self.offset, self.offset + self.width)

    @property
    def prediction_columns(self) -> list[str]:
        return [f"{self.name}_{c}" for c in self.classes]

    @property
    def head(self) -> Head:
        return Head(self.name, self.offset, self.weights, self.group)


def missing(values: pd.Series) -> np.ndarray:
    """(N,) bool: the cells that hold no label (empty, or NaN as written by pandas)."""
    text = values.astype(str).str.strip()
    return (text.eq("") | text.str.lower().eq("nan")).to_numpy()


def value_order(values: list[str]) -> list[str]:
    """Numeric values sort numerically ('10' after '9'), others lexically (classification's
    rule)."""
    try:
        return sorted(values, key=float)
    except ValueError:
        return sorted(values)


def read_targets(cfg: CompetitionConfig, train: pd.DataFrame, path: Path) -> list[Target]:
    """The targets of `cfg.targets`, their classes from the config or else from `train`."""
    assert cfg.targets is not None  # the schema requires it of a multitarget task
    out, offset = [], 0
    for name, spec in cfg.targets.items():
        key = f"competition.targets.{name}"
        column = train[name]
        if spec.classes is not None:
            classes = list(spec.classes)
        else:
            classes = value_order(column[~missing(column)].astype(str).unique().tolist())
        if len(classes) < 2:
            raise DataError(
                f"{path}: column {name!r} has {len(classes)} class(es) {classes}; a target "
                f"needs at least two (or give {key}.classes)"
            )
        if spec.kind == "binary" and len(classes) != 2:
            raise DataError(
                f"{path}: column {name!r} is a binary target with {len(classes)} classes "
                f"{classes}; set {key}.kind: multiclass"
            )
        weights = spec.weights if spec.weights is not None else [1.0] * len(classes)
        if len(weights) != len(classes):
            raise ConfigError(
                f"{key}.weights has {len(weights)} values for the {len(classes)} classes "
                f"{classes} of column {name!r}"
            )
        columns = {c: f"{name}_{c}" for c in classes} | dict(spec.columns or {})
        out.append(
            Target(
                name,
                spec.kind,
                tuple(classes),
                tuple(float(w) for w in weights),
                spec.group or name,
                offset,
                columns,
            )
        )
        offset += len(classes)
    return out


def _class_index(target: Target, values: pd.Series) -> dict[str, int]:
    """Each distinct written value of a column -> its class index (as written, or as the same
    number); values that match no class are left out."""
    index = {c: i for i, c in enumerate(target.classes)}
    numeric: dict[float, int] = {}
    for c, i in index.items():
        with contextlib.suppress(ValueError):
            numeric.setdefault(float(c), i)
    out = {}
    for v in values.unique():
        if v in index:
            out[v] = index[v]
            continue
        try:
            number = float(v)
        except ValueError:
            continue
        if number in numeric:
            out[v] = numeric[number]
    return out


def encode_targets(
    targets: list[Target], table: pd.DataFrame, path: Path, id_column: str
) -> np.ndarray:
    """(N, T) int64 class index of each row and target, -1 where the label is missing."""
    y = np.full((len(table), len(targets)), -1, np.int64)
    for j, target in enumerate(targets):
        values = table[target.name].astype(str).str.strip()
        absent = missing(values)
        index = _class_index(target, values[~absent])
        codes = values.map(index)
        unknown = codes.isna().to_numpy() & ~absent
        if unknown.any():
            i = int(np.flatnonzero(unknown)[0])
            raise DataError(
                f"{path}: line {i + 2} (id {table[id_column].iloc[i]!r}), column "
                f"{target.name!r} has {values.iloc[i]!r}, not one of its classes "
                f"{list(target.classes)} (competition.targets.{target.name}.classes)"
            )
        y[~absent, j] = codes[~absent].to_numpy(np.int64)
    return y


def decode_targets(targets: list[Target], y: np.ndarray) -> dict[str, np.ndarray]:
    """Column -> values as train.csv writes them (NaN where missing; numbers where every
    class of the target is one)."""
    out = {}
    for j, target in enumerate(targets):
        labels = np.asarray(y)[:, j]
        try:
            classes = np.array([float(c) for c in target.classes], dtype=object)
        except ValueError:
            classes = np.array(target.classes, dtype=object)
        values = np.full(len(labels), np.nan, dtype=object)
        values[labels >= 0] = classes[labels[labels >= 0]]
        out[target.name] = values
    return out


def one_hot(targets: list[Target], y: np.ndarray) -> np.ndarray:
    """(N, sum of widths) float32: each target's one-hot block, zeros where it is missing."""
    out = np.zeros((len(y), sum(t.width for t in targets)), np.float32)
    for j, target in enumerate(targets):
        rows = np.flatnonzero(y[:, j] >= 0)
        out[rows, target.offset + y[rows, j]] = 1.0
    return out


def labels_from_one_hot(cfg: CompetitionConfig, table: pd.DataFrame, path: Path) -> pd.DataFrame:
    """`table` with a label column for each target written as one 0/1 column per class
    (RSNA 2023's train.csv: `bowel_healthy, bowel_injury, ...`), where the target's own column
    is absent and its config gives its classes: the class whose column holds 1, empty where
    none does (a missing label). Two 1s in a row, or a value other than 0/1, is a DataError
    naming the line and the column."""
    out = {}
    for name, spec in (cfg.targets or {}).items():
        if name in table.columns or spec.classes is None:
            continue
        columns = {c: f"{name}_{c}" for c in spec.classes} | dict(spec.columns or {})
        if not all(columns[c] in table.columns for c in spec.classes):
            continue
        hot = np.zeros((len(table), len(spec.classes)), np.int64)
        for k, cls in enumerate(spec.classes):
            text = table[columns[cls]].astype(str).str.strip()
            number = pd.to_numeric(text.where(text != "", "0"), errors="coerce")
            bad = ~number.isin([0, 1]).to_numpy()
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise DataError(
                    f"{path}: line {i + 2}, column {columns[cls]!r} has {text.iloc[i]!r}, not "
                    f"0 or 1 (one column per class of target {name!r})"
                )
            hot[:, k] = number.to_numpy(np.int64)
        several = hot.sum(axis=1) > 1
        if several.any():
            i = int(np.flatnonzero(several)[0])
            raise DataError(
                f"{path}: line {i + 2} has 1 in several class columns of target {name!r} "
                f"({[columns[c] for c in spec.classes]}); one class per row"
            )
        labels = np.array(spec.classes, dtype=object)[hot.argmax(axis=1)]
        out[name] = np.where(hot.sum(axis=1) == 1, labels, "")
    return table.assign(**out) if out else table
