"""The competition's data contract, checked once at the boundary: the train and test tables,
their image files and the solution. What the targets mean (classes, values) is the task's
business (`podium.tasks`): the competition builds its task from the train table and hands the
targets over as the task's arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from podium.config import CompetitionConfig, Config
from podium.errors import DataError
from podium.fingerprint import files_fingerprint, values_fingerprint
from podium.tasks import Task, build_task

__all__ = ["Competition", "DataError"]


def read_table(path: Path, what: str) -> pd.DataFrame:
    if not path.is_file():
        raise DataError(f"{what} not found: {path}")
    # ids and labels stay strings: '007' must not become 7
    return pd.read_csv(path, dtype=str, keep_default_na=False)


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
    def train(self) -> pd.DataFrame:
        c = self.cfg
        path = self.root / c.train_csv
        df = read_table(path, "train table")
        cols = [c.id_column, c.target_column] + ([c.group_column] if c.group_column else [])
        require_columns(df, cols, path)
        require_unique_ids(df[c.id_column], path)
        return df.reset_index(drop=True)

    @cached_property
    def task(self) -> Task:
        """The task, its schema (classes, ...) read from the train table."""
        return build_task(self.cfg, self.train, self.root / self.cfg.train_csv)

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

    @property
    def train_ids(self) -> np.ndarray:
        return self.train[self.cfg.id_column].to_numpy()

    @property
    def test_ids(self) -> np.ndarray:
        return self.test[self.cfg.id_column].to_numpy()

    @cached_property
    def targets(self) -> np.ndarray:
        """The train table's targets as the task's array (class indices, values...)."""
        return self.task.encode(self.train, self.root / self.cfg.train_csv)

    # ---- what a fingerprint covers ------------------------------------------------------------
    @cached_property
    def labels_fingerprint(self) -> str:
        """The train ids, their targets (as written) and groups: changes when a label is fixed."""
        train, c = self.train, self.cfg
        columns = [train[c.id_column], *self.task.target_frame(train).T.to_numpy()]
        if c.group_column:
            columns.append(train[c.group_column])
        return values_fingerprint(*columns)

    def images_fingerprint(self, split: str) -> str:
        """The split's image files by path, size and modification time."""
        return files_fingerprint(self.image_paths(split))

    # ---- images --------------------------------------------------------------------------
    def image_paths(self, split: str) -> list[Path]:
        """Paths of the split's images, in table order; a missing file is an error naming it."""
        template = self.cfg.train_images if split == "train" else self.cfg.test_images
        ids = self.train_ids if split == "train" else self.test_ids
        paths = [self.root / template.format(id=i) for i in ids]
        for row, p in enumerate(paths):
            if not p.is_file():
                table = (
                    self.cfg.train_csv
                    if split == "train"
                    else (self.cfg.test_csv or self.cfg.sample_submission)
                )
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
        require_columns(df, [self.cfg.id_column, self.cfg.target_column], path)
        return df
