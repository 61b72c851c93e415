"""The competition's metadata as features of the meta-model (`ensemble.features.metadata`):

    ensemble:
      features:
        metadata: true            # competition.metadata's columns (numeric and categorical)
        metadata: [age, site]     # or these columns

Numeric columns enter as they are (an empty cell is NaN, which XGBoost treats as missing:
trees need no standardisation). A categorical column (one that `competition.metadata` lists
as categorical) is one-hot encoded over the categories of train.csv, so a test category
train.csv never has is all zeros. The encoding is fixed by the category names alone (no
target statistics), so nothing about the labels leaks into a fold's features.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from podium.competition import Competition
from podium.data.metadata import numeric_values, require_metadata_columns
from podium.errors import ConfigError
from podium.fingerprint import values_fingerprint


def metadata_columns(setting: bool | list[str], comp: Competition) -> list[str]:
    """The columns `ensemble.features.metadata` names: a list, or `true` for all of
    competition.metadata's."""
    if setting is True:
        if comp.cfg.metadata is None:
            raise ConfigError(
                "ensemble.features.metadata: true needs competition.metadata (the columns to use)"
            )
        return comp.cfg.metadata.columns
    return list(setting) if setting else []


def categorical_columns(comp: Competition) -> set[str]:
    return set(comp.cfg.metadata.categorical) if comp.cfg.metadata is not None else set()


def metadata_features(
    columns: list[str], comp: Competition, train: pd.DataFrame, test: pd.DataFrame, where: tuple
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(train features, test features, names) of `columns`: numeric values, or one-hot
    categories (train.csv's) for competition.metadata's categorical columns."""
    train_where, test_where = where
    require_metadata_columns(train, columns, train_where)
    require_metadata_columns(test, columns, test_where)
    categorical = categorical_columns(comp)
    parts_train: list[np.ndarray] = []
    parts_test: list[np.ndarray] = []
    names: list[str] = []
    for c in columns:
        if c in categorical:
            cats = sorted({v.strip() for v in train[c].astype(str)} - {""})
            for side, table in ((parts_train, train), (parts_test, test)):
                values = table[c].astype(str).str.strip().to_numpy()
                side.append((values[:, None] == np.array(cats)[None, :]).astype(np.float64))
            names += [f"meta:{c}={v}" for v in cats]
        else:
            parts_train.append(numeric_values(train, c, train_where)[:, None])
            parts_test.append(numeric_values(test, c, test_where)[:, None])
            names.append(f"meta:{c}")
    return np.hstack(parts_train), np.hstack(parts_test), names


def metadata_fingerprint(setting: bool | list[str], comp: Competition) -> str:
    """The cells of the columns the stack reads, in train.csv and the test table."""
    columns = metadata_columns(setting, comp)
    test = comp.test if comp.cfg.test_csv else comp.sample_submission
    cells: list[Any] = [t[c] if c in t.columns else [] for t in (comp.train, test) for c in columns]
    return values_fingerprint(*cells)
