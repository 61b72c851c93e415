"""The competition's data contract, checked once at the boundary: the train and test tables,
their image files and the solution. What the targets mean (classes, values) is the task's
business (`podium.tasks`): the competition builds its task from the train table and hands the
targets over as the task's arrays.
"""

from __future__ import annotations

import csv
import os
import string
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from podium.config import CompetitionConfig, Config, TrainConfig
from podium.digests import STORE_NAME
from podium.errors import DataError
from podium.fingerprint import files_fingerprint, values_fingerprint
from podium.series.files import files_of_image
from podium.series.studies import Selection, study_files
from podium.tasks import Task, build_task, task_type

__all__ = ["Competition", "DataError"]

CHANNEL = "{channel}"  # in an image path: one file per named channel (podium.data.readers)
ID = "id"  # `{id}` in an image path: the row's id (competition.id_column, whatever its name)


def template_fields(template: str) -> list[str]:
    """The placeholders of an image path template, in order (`{patient_id}` -> 'patient_id');
    a malformed template (an unclosed brace) is a ValueError."""
    return [field for _, field, _, _ in string.Formatter().parse(template) if field is not None]


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
    if not isinstance(df.index, pd.RangeIndex):  # pandas made the extra first field an index
        raise DataError(f"{path}: {_extra_field(path)}")
    return df


def _extra_field(path: Path) -> str:
    """Where a table has more fields than its header: pandas would silently shift every
    column by one (the first becomes the index)."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = csv.reader(f)
        header = next(rows)
        for line, row in enumerate(rows, start=2):
            if len(row) > len(header):
                return (
                    f"line {line} has {len(row)} fields but the header has {len(header)} "
                    f"({header}); a stray comma, or a value that needs quotes?"
                )
    return f"more fields in its rows than its header {header}"


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
    # `data.channels` as names: each image is one file per channel, `{channel}` in its path
    channels: tuple[str, ...] | None = None
    # the experiment's train section, where the task's outputs depend on it (regression's loss)
    training: TrainConfig | None = None
    # where the image files' content digests are remembered (podium.digests); None: memory
    digests: Path | None = None
    studies: Selection | None = None  # `data.slices.series`: image paths are study folders

    @classmethod
    def from_config(cls, cfg: Config) -> Competition:
        names = cfg.data.channels
        channels = tuple(names) if isinstance(names, list) else None
        digests, slices = cfg.comp_dir / "cache" / STORE_NAME, cfg.data.slices
        studies = slices.series if slices is not None else None
        return cls(cfg.competition, cfg.data_dir, channels, cfg.train, digests, studies)

    # ---- tables --------------------------------------------------------------------------
    @cached_property
    def train(self) -> pd.DataFrame:
        c = self.cfg
        path = self.root / c.train_csv
        df = task_type(c).read_layout(c, read_table(path, "train table"), path, "train", self.root)
        cols = [c.id_column, *c.target_names] + ([c.group_column] if c.group_column else [])
        require_columns(df, cols, path)
        require_unique_ids(df[c.id_column], path)
        return task_type(c).clean_table(c, df, path).reset_index(drop=True)

    @cached_property
    def task(self) -> Task:
        """The task, its schema (classes, ...) read from the train table."""
        task = build_task(self.cfg, self.train, self.root / self.cfg.train_csv, self.training)
        # a plug-in metric in Kaggle's form scores a submission with sample_submission's columns
        task.submission_columns = self._submission_columns
        task.bind_data(self.root)
        return task

    def _submission_columns(self) -> list[str]:
        return [c for c in self.sample_submission.columns if c != self.cfg.id_column]

    @cached_property
    def sample_submission(self) -> pd.DataFrame:
        path = self.root / self.cfg.sample_submission
        df = read_table(path, "sample submission")
        df = task_type(self.cfg).read_layout(self.cfg, df, path, "sample", self.root)
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
        """The split's image files (every channel's) by path within the competition folder and
        content (each file hashed once, then remembered by its stat key: `podium.digests`);
        computed once per split (every unit's stamp asks for it)."""
        if split not in self._images_fingerprints:
            files = (f for p in self.image_paths(split) for f in self.files_of(p))
            self._images_fingerprints[split] = files_fingerprint(files, self.digests, self.root)
        return self._images_fingerprints[split]

    @cached_property
    def _images_fingerprints(self) -> dict[str, str]:
        return {}

    # ---- images --------------------------------------------------------------------------
    def files_of(self, path: Path) -> list[Path]:
        """The files of one image path: itself, or one per named channel (`{channel}` filled;
        the rule of podium.data.readers.channel_paths, which this layer cannot import)."""
        if self.studies is not None:  # a study folder: its series' slices (podium.series)
            return study_files(path, self.studies)
        if self.channels is None:
            return files_of_image(path)  # a series folder: its slices (podium.series.files)
        return [Path(str(path).replace(CHANNEL, name)) for name in self.channels]

    def image_paths(self, split: str) -> list[Path]:
        """Paths of the split's images, in table order; a missing file is an error naming it.
        With named channels a path keeps a literal `{channel}` (the reader fills it) and each
        channel's file must exist."""
        template = self.cfg.train_images if split == "train" else self.cfg.test_images
        table = self.train if split == "train" else self.test
        return self.check_image_paths(template, table, self.table_path(split))

    def table_path(self, split: str) -> Path:
        """The file of the split's table (the test table is the sample submission's ids when
        `competition.test_csv` is not set)."""
        c = self.cfg
        name = c.train_csv if split == "train" else (c.test_csv or c.sample_submission)
        return self.root / name

    def check_template(self, template: str, columns: list[str], table: Path, key: str) -> None:
        """`template`'s placeholders are `{id}`, `{channel}` and columns of `table`; anything
        else names the placeholder and the columns (before any image is looked for)."""
        try:
            fields = template_fields(template)
        except ValueError as e:
            raise DataError(f"{key} {template!r} is not a valid path template ({e})") from None
        allowed = {ID, CHANNEL[1:-1], *columns}
        unknown = [f for f in fields if f not in allowed]
        if unknown:
            hint = (
                "; the test table is sample_submission's id column: set competition.test_csv "
                "to a table with those columns"
                if table.name == Path(self.cfg.sample_submission).name and self.cfg.test_csv is None
                else ""
            )
            raise DataError(
                f"{key} {template!r}: unknown placeholder {{{unknown[0]}}}; a template may use "
                f"{{id}}, {{channel}} (with data.channels names) and the columns of {table}: "
                f"{columns}{hint}"
            )
        self.check_channel_template(template)

    def check_templates(self) -> None:
        """Both image path templates against their tables (a config-time check)."""
        for split, key in (
            ("train", "competition.train_images"),
            ("test", "competition.test_images"),
        ):
            template = self.cfg.train_images if split == "train" else self.cfg.test_images
            table = self.train if split == "train" else self.test
            self.check_template(template, list(table.columns), self.table_path(split), key)

    def check_image_paths(
        self, template: str, table: pd.DataFrame, path: Path, key: str = "image path"
    ) -> list[Path]:
        """`template` filled from each row of `table` (read from `path`), in order: `{id}` is
        the row's id, `{channel}` stays literal, any other placeholder is that column's value
        (`train/{patient_id}/{image_id}.dcm`). Each path must lie inside the template's folder
        and each file (each channel's, with named channels) exist, else a DataError naming the
        table's line."""
        self.check_template(template, list(table.columns), path, key)
        ids = table[self.cfg.id_column].to_numpy()
        fields = set(template_fields(template)) - {ID, CHANNEL[1:-1]}
        columns = {f: table[f].astype(str).to_numpy() for f in fields}
        paths = [
            self.root
            / template.format(
                **{f: column[row] for f, column in columns.items()},
                id=ids[row],
                channel=CHANNEL,
            )
            for row in range(len(ids))
        ]
        # the template's fixed folder ('train/' of 'train/{id}.png'): an id such as
        # '../../x' must not reach outside it (checked on the names, so symlinks still work)
        folder = os.path.abspath(self.root / os.path.dirname(template.split("{", 1)[0]))
        for row, p in enumerate(paths):
            if not os.path.abspath(p).startswith(folder.rstrip(os.sep) + os.sep):
                raise DataError(
                    f"{path}: line {row + 2}: id {ids[row]!r} points outside the "
                    f"image folder {folder} ({p})"
                )
            if self.channels is None and p.is_dir():  # a series (an empty one: the reader's)
                continue
            for name, f in zip(self.channels or [None], self.files_of(p), strict=True):
                if not f.is_file():
                    channel = f", channel {name!r}" if name is not None else ""
                    raise DataError(
                        f"image not found: {f} (id {ids[row]!r}{channel}, line {row + 2} of {path})"
                    )
        return paths

    def check_channel_template(self, template: str) -> None:
        """Named channels need `{channel}` in the image path, and only they may use it."""
        if self.channels is not None and CHANNEL not in template:
            raise DataError(
                f"image path {template!r} has no {CHANNEL}, but data.channels names the "
                f"channels {list(self.channels)} (one file each: e.g. 'train/{{id}}_{CHANNEL}.png')"
            )
        if self.channels is None and CHANNEL in template:
            raise DataError(
                f"image path {template!r} has {CHANNEL}, but data.channels is a count; name the "
                "channels (data.channels: [red, green, blue]) to read one file per channel"
            )

    @cached_property
    def solution(self) -> pd.DataFrame | None:
        """The hidden test labels, where the organiser has them: cleaned and checked by the
        task like train.csv's (a label that is not a class names its line)."""
        if not self.cfg.solution:
            return None
        path = self.root / self.cfg.solution
        if not path.is_file():
            return None
        c = self.cfg
        df = task_type(c).read_layout(c, read_table(path, "solution"), path, "solution", self.root)
        require_columns(df, [c.id_column, *c.target_names], path)
        require_unique_ids(df[c.id_column], path)
        df = task_type(c).clean_table(c, df, path)
        self.task.encode(df, path)
        return df

    def solution_targets(self, ids: np.ndarray) -> tuple[np.ndarray, pd.DataFrame]:
        """The task's targets of the solution rows of `ids` (in that order), and those rows;
        ids the solution lacks are named."""
        solution = self.solution
        path = self.root / (self.cfg.solution or "solution.csv")
        if solution is None:
            raise DataError(
                f"no solution file for {self.cfg.name} ({path}); nothing to score against"
            )
        table = solution.set_index(self.cfg.id_column)
        missing = [i for i in ids if i not in table.index]
        if missing:
            raise DataError(
                f"{path}: no label for {len(missing)} submission id(s) (e.g. {missing[:3]})"
            )
        rows = table.loc[ids].reset_index()
        return self.task.encode(rows, path), rows
