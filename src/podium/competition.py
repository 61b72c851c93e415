"""The competition's data contract, checked once at the boundary: the train and test tables,
their image files, the classes and the submission's shape. Labels are mapped to class indices
here and only here, and mapped back here when a submission is written.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from podium.config import CompetitionConfig, Config

logger = logging.getLogger(__name__)


class DataError(ValueError):
    """The competition's files break the contract; the message names file, row and column."""


def read_table(path: Path, what: str) -> pd.DataFrame:
    """A CSV table with at least one row; an empty or undecodable file is named, not parsed."""
    if not path.is_file():
        raise DataError(f"{what} not found: {path}")
    try:
        # ids and labels stay strings: '007' must not become 7
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path} has no rows (the file is empty)") from None
    except (UnicodeDecodeError, pd.errors.ParserError) as e:
        detail = str(e).strip().splitlines()[0]
        raise DataError(f"{path}: not a readable UTF-8 CSV {what} ({detail})") from None
    if df.empty:
        raise DataError(f"{path} has no rows (only a header: {list(df.columns)})")
    return df


def clean_labels(labels: pd.Series, path: Path, ids: pd.Series | None = None) -> pd.Series:
    """Labels as classes: surrounding spaces stripped (' a' is 'a'); an empty or NaN label is
    refused with its line; labels that look like one class written two ways ('1' and '1.0',
    'Cat' and 'cat') are logged as a warning, since they become two classes."""
    labels = labels.astype(str).str.strip()
    missing = labels.eq("") | labels.str.lower().eq("nan")
    if missing.any():
        i = int(np.flatnonzero(missing.to_numpy())[0])
        which = f" (id {ids.iloc[i]!r})" if ids is not None else ""
        what = "an empty label" if labels.iloc[i] == "" else f"a missing label ({labels.iloc[i]!r})"
        raise DataError(f"{path}: line {i + 2}{which} has {what}")
    seen: dict[object, set[str]] = {}
    for label in labels.unique():
        try:
            key: object = float(label)
        except ValueError:
            key = label.casefold()
        seen.setdefault(key, set()).add(label)
    for same in (sorted(v) for v in seen.values() if len(v) > 1):
        logger.warning(
            "%s: labels %s look like one class written %d ways; they are %d classes",
            path,
            same,
            len(same),
            len(same),
        )
    return labels


def require_columns(df: pd.DataFrame, columns: list[str], path: Path) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {missing}; it has {list(df.columns)}")


def require_unique_ids(ids: pd.Series, path: Path) -> None:
    dup = ids[ids.duplicated()]
    if len(dup):
        row = int(dup.index[0]) + 2  # header is line 1
        raise DataError(f"{path}: duplicate id {dup.iloc[0]!r} (line {row}); ids must be unique")


@dataclass
class Competition:
    """Tables and images of one competition, validated on construction."""

    cfg: CompetitionConfig
    root: Path

    @classmethod
    def from_config(cls, cfg: Config) -> Competition:
        return cls(cfg.competition, cfg.data_dir)

    # ---- tables --------------------------------------------------------------------------
    @cached_property
    def _labelled(self) -> pd.DataFrame:
        """train.csv with clean labels, read once for `train` and `classes`."""
        c, path = self.cfg, self.root / self.cfg.train_csv
        df = read_table(path, "train table")
        require_columns(df, [c.target_column], path)
        ids = df[c.id_column] if c.id_column in df.columns else None
        return df.assign(**{c.target_column: clean_labels(df[c.target_column], path, ids)})

    @cached_property
    def train(self) -> pd.DataFrame:
        c = self.cfg
        path = self.root / c.train_csv
        df = self._labelled
        cols = [c.id_column, c.target_column] + ([c.group_column] if c.group_column else [])
        require_columns(df, cols, path)
        require_unique_ids(df[c.id_column], path)
        unknown = ~df[c.target_column].isin(self.classes)
        if unknown.any():
            i = int(np.flatnonzero(unknown.to_numpy())[0])
            raise DataError(
                f"{path}: line {i + 2} (id {df[c.id_column].iloc[i]!r}) has label "
                f"{df[c.target_column].iloc[i]!r}, which is not one of the classes {self.classes}"
            )
        return df.reset_index(drop=True)

    @cached_property
    def sample_submission(self) -> pd.DataFrame:
        path = self.root / self.cfg.sample_submission
        df = read_table(path, "sample submission")
        require_columns(df, [self.cfg.id_column], path)
        require_unique_ids(df[self.cfg.id_column], path)
        return df

    @cached_property
    def test(self) -> pd.DataFrame:
        if self.cfg.test_csv is None:
            return self.sample_submission[[self.cfg.id_column]].copy()
        path = self.root / self.cfg.test_csv
        df = read_table(path, "test table")
        require_columns(df, [self.cfg.id_column], path)
        require_unique_ids(df[self.cfg.id_column], path)
        return df

    @cached_property
    def classes(self) -> list[str]:
        if self.cfg.classes is not None:
            return [str(c) for c in self.cfg.classes]
        path = self.root / self.cfg.train_csv
        labels = self._labelled[self.cfg.target_column].unique().tolist()
        if len(labels) < 2:
            raise DataError(
                f"{path} has one class ({labels[0]!r}); a classifier needs at least two"
            )
        # numeric labels sort numerically ('10' after '9'), others lexically
        try:
            return sorted(labels, key=float)
        except ValueError:
            return sorted(labels)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def train_ids(self) -> np.ndarray:
        return self.train[self.cfg.id_column].to_numpy()

    @property
    def test_ids(self) -> np.ndarray:
        return self.test[self.cfg.id_column].to_numpy()

    # ---- labels <-> indices (the one place) -------------------------------------------------
    def encode(self, labels: pd.Series | np.ndarray) -> np.ndarray:
        index = {c: i for i, c in enumerate(self.classes)}
        try:
            return np.array([index[str(x)] for x in labels], dtype=np.int64)
        except KeyError as e:
            raise DataError(
                f"label {e.args[0]!r} is not one of the classes {self.classes}"
            ) from None

    def decode(self, indices: np.ndarray) -> np.ndarray:
        return np.asarray(self.classes, dtype=object)[np.asarray(indices)]

    @property
    def targets(self) -> np.ndarray:
        return self.encode(self.train[self.cfg.target_column])

    # ---- images --------------------------------------------------------------------------
    def image_paths(self, split: str) -> list[Path]:
        """Paths of the split's images, in table order; a missing file is an error naming it."""
        template = self.cfg.train_images if split == "train" else self.cfg.test_images
        ids = self.train_ids if split == "train" else self.test_ids
        table = (
            self.cfg.train_csv
            if split == "train"
            else (self.cfg.test_csv or self.cfg.sample_submission)
        )
        paths = [self.root / template.format(id=i) for i in ids]
        # the template's fixed folder ('train/' of 'train/{id}.png'): an id such as
        # '../../x' must not reach outside it (checked on the names, so symlinks still work)
        folder = os.path.abspath(self.root / os.path.dirname(template.split("{", 1)[0]))
        for row, p in enumerate(paths):
            if not os.path.abspath(p).startswith(folder.rstrip(os.sep) + os.sep):
                raise DataError(
                    f"{self.root / table}: line {row + 2}: id {ids[row]!r} points outside the "
                    f"image folder {folder} ({p})"
                )
            if not p.is_file():
                raise DataError(
                    f"image not found: {p} (id {ids[row]!r}, line {row + 2} of {self.root / table})"
                )
        return paths

    @cached_property
    def solution(self) -> pd.DataFrame | None:
        if not self.cfg.solution:
            return None
        path = self.root / self.cfg.solution
        if not path.is_file():
            return None
        df = read_table(path, "solution")
        c = self.cfg
        require_columns(df, [c.id_column, c.target_column], path)
        labels = clean_labels(df[c.target_column], path, df[c.id_column])
        unknown = ~labels.isin(self.classes)
        if unknown.any():
            i = int(np.flatnonzero(unknown.to_numpy())[0])
            raise DataError(
                f"{path}: line {i + 2} (id {df[c.id_column].iloc[i]!r}) has label "
                f"{labels.iloc[i]!r}, which is not one of the classes {self.classes}"
            )
        return df.assign(**{c.target_column: labels})
