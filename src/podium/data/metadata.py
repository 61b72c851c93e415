"""Tabular metadata beside each image (`competition.metadata`): the numeric and categorical
columns of train.csv and the test table, read into one float32 matrix per table, and the
statistics the network standardises them with.

    competition:
      metadata: {numeric: [age], categorical: [sex, site]}

The matrix has one column per numeric column (its value; NaN where the cell is empty) and
one per categorical column (a code: 1..K by the sorted categories of train.csv, 0 for an
empty cell or a category train.csv never has). The codes come from train.csv's categories
alone, so every fold's network has the same shape; which of them a fold has actually seen,
and the numeric means and standard deviations, are fitted on the fold's own training rows
(`fit_stats`): validation, test, pseudo and external rows never move them.

Errors name the table, its line and the column (a missing column, a value that is not a
number).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from podium.competition import Competition
from podium.config import CompetitionConfig, ConfigError
from podium.errors import DataError


@dataclass(frozen=True)
class MetadataLayout:
    """The columns, in matrix order, and each categorical column's categories (train.csv's)."""

    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    categories: tuple[tuple[str, ...], ...]

    @property
    def columns(self) -> list[str]:
        return [*self.numeric, *self.categorical]

    @property
    def cardinalities(self) -> list[int]:
        """Embedding rows per categorical column: its categories plus the unknown bucket 0."""
        return [len(c) + 1 for c in self.categories]


@dataclass
class MetadataStats:
    """What a fold's network standardises with: numeric means and standard deviations (NaN
    ignored) and, per categorical column, which codes its training rows have (others -> 0)."""

    layout: MetadataLayout
    mean: np.ndarray  # (n_numeric,)
    std: np.ndarray  # (n_numeric,)
    seen: list[np.ndarray]  # per categorical column: bool (cardinality,), seen[0] True


def numeric_values(table: pd.DataFrame, column: str, where: str) -> np.ndarray:
    """One column as float64, NaN for empty cells; a cell that is not a number, or not a
    finite one the network's float32 can hold ('inf', '1e39'), names its line."""
    cells = table[column].astype(str).str.strip()
    values = pd.to_numeric(cells.where(cells != ""), errors="coerce").to_numpy(np.float64)
    empty = (cells == "").to_numpy()
    with np.errstate(over="ignore"):
        finite = np.isfinite(values.astype(np.float32))
    bad = ~finite & ~empty
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        what = "is not a number" if np.isnan(values[i]) else "is not a finite float32 number"
        raise DataError(
            f"{where}: line {i + 2}, numeric metadata column {column!r} = "
            f"{table[column].iloc[i]!r} {what} (leave the cell empty for a missing value)"
        )
    return values


def require_metadata_columns(table: pd.DataFrame, columns: list[str], where: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise DataError(
            f"{where}: missing metadata column(s) {missing} (competition.metadata); "
            f"it has {list(table.columns)}"
        )


def metadata_layout(cfg: CompetitionConfig, train: pd.DataFrame, where: str) -> MetadataLayout:
    """The layout of `cfg.metadata`, its categories read from the train table."""
    if cfg.metadata is None:
        raise ConfigError("competition.metadata is not set: the competition has no metadata")
    m = cfg.metadata
    require_metadata_columns(train, m.columns, where)
    categories = tuple(
        tuple(sorted({v.strip() for v in train[c].astype(str)} - {""})) for c in m.categorical
    )
    return MetadataLayout(tuple(m.numeric), tuple(m.categorical), categories)


def metadata_matrix(layout: MetadataLayout, table: pd.DataFrame, where: str) -> np.ndarray:
    """(N, columns) float32: numeric values (NaN if empty), then categorical codes."""
    require_metadata_columns(table, layout.columns, where)
    out = np.empty((len(table), len(layout.columns)), np.float32)
    for j, c in enumerate(layout.numeric):
        out[:, j] = numeric_values(table, c, where)
    for j, (c, cats) in enumerate(zip(layout.categorical, layout.categories, strict=True)):
        cells = pd.Index(table[c].astype(str).str.strip())
        codes = pd.Index(cats).get_indexer(cells) + 1  # not a category (-1) -> 0
        out[:, len(layout.numeric) + j] = codes
    return out


def table_of(comp: Competition, split: str) -> tuple[pd.DataFrame, str]:
    """The table a split's metadata is read from, and its path for messages. Without
    `competition.test_csv` the test ids come from sample_submission.csv, which rarely has
    the columns: the error then says to set test_csv."""
    c = comp.cfg
    if split == "train":
        return comp.train, str(comp.root / c.train_csv)
    if c.test_csv is None:
        where = f"{comp.root / c.sample_submission} (the test table: set competition.test_csv)"
        return comp.sample_submission, where
    return comp.test, str(comp.root / c.test_csv)


def competition_layout(comp: Competition) -> MetadataLayout:
    train, where = table_of(comp, "train")
    return metadata_layout(comp.cfg, train, where)


def split_metadata(comp: Competition, split: str) -> np.ndarray:
    """The metadata matrix of the train or test split, rows in table order."""
    table, where = table_of(comp, split)
    return metadata_matrix(competition_layout(comp), table, where)


def check_metadata(comp: Competition) -> None:
    """Both tables have every column and their numeric cells are numbers (podium.validate)."""
    for split in ("train", "test"):
        split_metadata(comp, split)


def fit_stats(layout: MetadataLayout, rows: np.ndarray) -> MetadataStats:
    """Standardisation and seen categories from `rows` (a fold's training rows only)."""
    n = len(layout.numeric)
    numeric = rows[:, :n].astype(np.float64)
    present = ~np.isnan(numeric)
    counts = present.sum(0)
    safe = np.where(present, numeric, 0.0)
    mean = np.divide(safe.sum(0), counts, out=np.zeros(n), where=counts > 0)
    var = np.divide(
        (np.where(present, numeric - mean, 0.0) ** 2).sum(0),
        counts,
        out=np.zeros(n),
        where=counts > 0,
    )
    std = np.sqrt(var)
    std[~(std > 1e-12)] = 1.0  # a constant (or empty) column: centred, not scaled
    seen = []
    for j, k in enumerate(layout.cardinalities):
        mask = np.zeros(k, bool)
        mask[rows[:, n + j].astype(np.int64)] = True
        mask[0] = True
        seen.append(mask)
    return MetadataStats(layout, mean.astype(np.float32), std.astype(np.float32), seen)
