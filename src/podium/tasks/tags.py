"""Multilabel targets as written in the competition's tables, read into a (N, L) 0/1 matrix and
written back. Two layouts (Kaggle's):

    tags     one column of space-separated labels (Planet: `tags`, HPA: `Target`); an empty
             cell is a row with no label; the order of the tags in a cell does not matter
    columns  one 0/1 column per label (RANZCR: `ETT - Abnormal`, ...), named by
             `competition.target_columns`

Which one: `competition.target_columns` given -> columns, else the `target_column` holds tags.
The label set is `competition.classes` where given, else the columns, else every tag seen in
train.csv (numeric tags sort numerically, '10' after '9', others lexically).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from podium.config import CompetitionConfig
from podium.errors import DataError
from podium.tasks.classification import class_order


def is_tags(cfg: CompetitionConfig) -> bool:
    """One column of space-separated tags (else one 0/1 column per label)."""
    return not cfg.target_columns


def _where(table: pd.DataFrame, id_column: str, i: int) -> str:
    return f" (id {table[id_column].iloc[i]!r})" if id_column in table.columns else ""


def split_tags(cells: pd.Series) -> list[list[str]]:
    """Each cell's tags: split on whitespace, duplicates dropped (first kept); '' and NaN are
    an empty list."""
    out = []
    for cell in cells.fillna("").astype(str):
        out.append(list(dict.fromkeys(cell.split())))
    return out


def clean_tags(cfg: CompetitionConfig, table: pd.DataFrame, path: Path) -> pd.DataFrame:
    """The tags column normalised ('b  a ' -> 'b a'); the 0/1 columns as integers, anything
    else an error naming the line, the id and the column."""
    if is_tags(cfg):
        tags = split_tags(table[cfg.target_column])
        return table.assign(**{cfg.target_column: [" ".join(t) for t in tags]})
    values = {}
    for column in cfg.target_names:
        text = table[column].astype(str).str.strip()
        num = pd.to_numeric(text, errors="coerce")
        bad = ~num.isin([0, 1])
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(
                f"{path}: line {i + 2}{_where(table, cfg.id_column, i)}, label column {column!r} "
                f"has {text.iloc[i]!r}; a multilabel column holds 0 or 1"
            )
        values[column] = num.astype(np.int64).to_numpy()
    return table.assign(**values)


def labels_of(cfg: CompetitionConfig, train: pd.DataFrame) -> list[str]:
    """The label set (see the module docstring)."""
    if cfg.classes is not None:
        return [str(c) for c in cfg.classes]
    if not is_tags(cfg):
        return list(cfg.target_names)
    seen = {t for tags in split_tags(train[cfg.target_column]) for t in tags}
    return class_order(list(seen))


def encode_tags(
    cfg: CompetitionConfig, labels: list[str], table: pd.DataFrame, path: Path
) -> np.ndarray:
    """(N, L) int8 0/1 targets; a tag that is not a label names its line and id."""
    if not is_tags(cfg):
        missing = [c for c in labels if c not in table.columns]
        if missing:
            raise DataError(f"{path}: missing label column(s) {missing}")
        return table[labels].astype(np.int64).to_numpy().astype(np.int8)
    index = {label: j for j, label in enumerate(labels)}
    out = np.zeros((len(table), len(labels)), np.int8)
    for i, tags in enumerate(split_tags(table[cfg.target_column])):
        for tag in tags:
            j = index.get(tag)
            if j is None:
                raise DataError(
                    f"{path}: line {i + 2}{_where(table, cfg.id_column, i)} has tag {tag!r}, "
                    f"which is not one of the labels {labels}"
                )
            out[i, j] = 1
    return out


def decode_tags(decisions: np.ndarray, labels: list[str]) -> np.ndarray:
    """(N,) strings: each row's labels in label order, space-separated ('' for none)."""
    names = np.asarray(labels, dtype=object)
    return np.array([" ".join(names[row]) for row in np.asarray(decisions, bool)], dtype=object)


def check_sample_columns(
    cfg: CompetitionConfig, labels: list[str], columns: list[str], path: Path
) -> None:
    """A sample submission that fits the label set: one tags column (`submission_format:
    label`) or one column per label (`proba`); a column that is a tag train.csv never uses is
    named, with the way to keep it."""
    if cfg.submission_format == "label":
        if len(columns) != 1:
            raise DataError(
                f"{path} has {len(columns)} target columns {columns}: one per label needs "
                "competition.submission_format: proba (label writes one column of tags)"
            )
        return
    unknown = [c for c in columns if c not in labels]
    if unknown:
        raise DataError(
            f"{path}: column(s) {unknown} are labels that train.csv never uses (its labels: "
            f"{labels}); a model cannot learn them: list every label in competition.classes to "
            "predict them as always absent"
        )
    absent = [c for c in labels if c not in columns]
    if absent:
        raise DataError(f"{path} lacks a column for label(s) {absent} (it has {columns})")
