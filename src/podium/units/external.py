"""External labelled data (`data.external`): tables of extra images with labels, such as a
previous edition of the competition or a public dataset, that join the TRAINING rows of every
fold and nothing else.

    data:
      external:
        - {table: extra.csv, images: extra/{id}.png}    # relative to the competition folder

Why apart from train.csv: external rows have no fold. They are never in folds.csv, never
validated on, never in oof.parquet or a CV score, so the CV stays a measure of the
competition's own data; adding them is a training-data choice, like augmentation. Each table
has the id and target columns of train.csv and is checked like it by the task (a label that is
not a class names the table and its line); its images are read with the same reader settings
(`data.channels`, `window`, `resize`; a `{channel}` template when channels are named) through
the decode cache, into their own cache file. Their ids, labels and image files are
fingerprinted into every unit's stamp, so changing them retrains (nothing else does).

Leaks are refused. An external row that repeats a train row is trained on while its fold
validates it (noise images with random labels reach a perfect OOF AUC with train.csv repeated
as external data), and a test row with a label leaks the answer. So an external id that is a train or
test id is refused when the config is checked; and when the external images are decoded,
each is compared with the train and test images in the decode cache (`podium.data.duplicates`):
an exact copy is refused with its pairs named, a near copy (perceptual hash within 6 of 64
bits: re-encoded, resized) is warned with its pairs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from podium.competition import read_table, require_columns, require_unique_ids
from podium.config import ExternalSource
from podium.data.duplicates import NEAR_BITS, cached_image_hashes, find_duplicates
from podium.data.metadata import metadata_matrix
from podium.engine.trainer import TrainRows
from podium.errors import DataError
from podium.experiment import Experiment
from podium.fingerprint import files_fingerprint, fingerprint, values_fingerprint
from podium.tasks import task_type

_log = logging.getLogger(__name__)


@dataclass
class ExternalTable:
    """One `data.external` entry, its table checked and its image files found."""

    source: ExternalSource
    path: Path  # the table
    table: pd.DataFrame
    targets: np.ndarray  # the task's encoding
    images: list[Path]  # one per row (a literal {channel} where channels are named)
    id_column: str = "id"

    @property
    def ids(self) -> np.ndarray:
        return self.table[self.id_column].to_numpy()

    @property
    def cache_name(self) -> str:
        """The decode cache's file prefix: one cache per external table."""
        return f"external-{self.path.stem}"


def read_external(exp: Experiment, source: ExternalSource) -> ExternalTable:
    """One external table: the id and target columns, unique ids, labels the task knows (the
    competition's classes), every image present; errors name the table and its line."""
    comp, c = exp.comp, exp.cfg.competition
    path = comp.root / source.table
    df = read_table(path, "external table (data.external)")
    require_columns(df, [c.id_column, *c.target_names], path)
    require_unique_ids(df[c.id_column], path)
    df = task_type(c).clean_table(c, df, path).reset_index(drop=True)
    refuse_competition_ids(df[c.id_column], {"train": comp.train_ids, "test": comp.test_ids}, path)
    targets = exp.task.encode(df, path)
    images = comp.check_image_paths(source.images, df, path, "data.external images")
    return ExternalTable(source, path, df, targets, images, c.id_column)


LEAK = (
    "a copy of a train row is trained on while its fold validates it, and a test row with a "
    "label leaks the answer"
)
LISTED = 10  # pairs named in a message


def refuse_competition_ids(ids: pd.Series, splits: dict[str, np.ndarray], path: Path) -> None:
    """External ids must be new rows: a train or test id is refused, naming its line."""
    for split, known in splits.items():
        taken = ids.isin(set(known)).to_numpy()
        if taken.any():
            rows = np.flatnonzero(taken)
            listed = ", ".join(f"{ids.iloc[i]!r} (line {i + 2})" for i in rows[:LISTED])
            raise DataError(
                f"{path}: {len(rows)} external id(s) are {split} ids: {listed}; remove them "
                f"({LEAK})"
            )


def check_duplicates(
    table: ExternalTable, images: np.ndarray, others: dict[str, tuple[np.ndarray, np.ndarray]]
) -> None:
    """`table`'s decoded images against each split's (`others`: name -> (images, ids)):
    exact copies are refused, near copies warned, their pairs named."""
    mine = cached_image_hashes(images)
    ids = table.ids
    exact, near = [], []
    for split, (pixels, split_ids) in others.items():
        found = find_duplicates(mine, cached_image_hashes(pixels))
        exact += [f"{ids[i]} = {split} {split_ids[j]}" for i, j in found.exact]
        near += [f"{ids[i]} ~ {split} {split_ids[j]} ({d} bits)" for i, j, d in found.near]
    size = "x".join(str(s) for s in images.shape[1:3])
    if exact:
        raise DataError(
            f"{table.path}: {len(exact)} external image(s) are exact copies of competition "
            f"images at the cache size {size}: {', '.join(exact[:LISTED])}; remove those rows "
            f"({LEAK})"
        )
    if near:
        _log.warning(
            "%s: %d external image(s) nearly duplicate competition images (perceptual hash "
            "within %d of 64 bits at %s): %s; check them: a near copy leaks as an exact one does",
            table.path,
            len(near),
            NEAR_BITS,
            size,
            ", ".join(near[:LISTED]) + (f" [first {LISTED}]" if len(near) > LISTED else ""),
        )


class External:
    """The experiment's external rows: read and checked on construction (cheap: tables and
    file names), fingerprinted for the unit stamps, decoded only when a unit trains."""

    def __init__(self, exp: Experiment) -> None:
        self.exp = exp
        self.tables = [read_external(exp, s) for s in exp.cfg.data.external]

    def __bool__(self) -> bool:
        return bool(self.tables)

    @cached_property
    def fingerprint(self) -> str:
        """Each table's path, ids, targets (as written) and image files (every channel's, by
        path and content): what a unit trained with them depends on."""
        task, comp, id_column = self.exp.task, self.exp.comp, self.exp.cfg.competition.id_column
        parts = []
        for t in self.tables:
            labels = [t.table[id_column], *task.target_frame(t.table).T.to_numpy()]
            files = [f for p in t.images for f in comp.files_of(p)]
            parts.append(
                [
                    t.source.table,
                    values_fingerprint(*labels),
                    files_fingerprint(files, comp.digests),
                ]
            )
            if self.exp.metadata_layout is not None:  # checked here: validate computes this
                meta = metadata_matrix(self.exp.metadata_layout, t.table, str(t.path))
                parts[-1].append(values_fingerprint(meta.ravel().tolist()))
        return fingerprint(parts)

    @cached_property
    def rows(self) -> TrainRows | None:
        """Every table's images (decoded by the config's reader settings) and training
        targets, as rows to add to each fold's training set."""
        if not self.tables:
            return None
        images = [self.exp.load_images(t.images, t.cache_name) for t in self.tables]
        others = self._competition_images()
        for t, pixels in zip(self.tables, images, strict=True):
            check_duplicates(t, pixels, others)
        targets = np.concatenate([t.targets for t in self.tables])
        _log.info(
            "external data: %d rows from %s",
            len(targets),
            ", ".join(f"{t.source.table} ({len(t.targets)})" for t in self.tables),
        )
        layout = self.exp.metadata_layout  # the network's metadata: each table has it too
        metadata = None
        if layout is not None:
            metadata = np.concatenate(
                [metadata_matrix(layout, t.table, str(t.path)) for t in self.tables]
            )
        return TrainRows(
            np.concatenate(images) if len(images) > 1 else images[0],
            self.exp.task.training_targets(targets),
            metadata=metadata,
        )

    def _competition_images(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """The train and test images (through the decode cache) and their ids, to compare the
        external images with; test images that are not there (a code competition's hidden
        test) are left out with a warning."""
        exp, comp = self.exp, self.exp.comp
        others = {"train": (exp.train_images, comp.train_ids)}
        try:
            others["test"] = (exp.test_images, comp.test_ids)
        except DataError as e:
            _log.warning(
                "external images compared with train only: the test images are not readable (%s)", e
            )
        return others


def concat_rows(train: TrainRows, extra: TrainRows) -> TrainRows:
    """`train` then `extra`: images, targets, weights (1 where a side has none) and metadata
    (the statistics stay `train`'s: fitted on the fold's own rows)."""

    def weights(rows: TrainRows) -> np.ndarray:
        n = len(rows.images)
        return rows.weights if rows.weights is not None else np.ones(n, np.float32)

    metadata = None
    if train.metadata is not None:
        if extra.metadata is None:
            raise DataError("extra training rows have no metadata, but the network reads it")
        metadata = np.concatenate([train.metadata, extra.metadata])
    return TrainRows(
        np.concatenate([train.images, extra.images]),
        _join_targets(train.targets, extra.targets),
        np.concatenate([weights(train), weights(extra)]).astype(np.float32),
        metadata,
        train.metadata_stats,
    )


def _join_targets(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Two blocks of training targets, one after the other: rows of one dtype and width
    concatenated; masks of other sizes or dtypes (a fold's labelled masks at the images' own
    size, its pseudo-masks float at `data.image_size`) as an (N,) object array of each row's
    mask, which the mask loader resizes alike (`data.mask_dataset`)."""
    if first.dtype == second.dtype != object and first.shape[1:] == second.shape[1:]:
        return np.concatenate([first, second])
    out = np.empty(len(first) + len(second), dtype=object)
    for i, target in enumerate([*first, *second]):
        out[i] = target
    return out
