"""Studies of several series (`data.slices.series`, #28): a study folder whose sub-folders
are its series (RSNA 2023's `train_images/{patient_id}/{series_id}/*.dcm`), each series one
sample of the study's label, and the study's prediction the mean over its series.

`study_series` lists a study folder's series (sub-folders by name; `first` or a count keeps
the first ones); `StudyLayout` maps each series to its study row. Why replicas: a study of k
series is one member per series in the task's merge (`infer.merge`: probabilities, logits or
geometric, as views, seeds and folds are merged), but studies differ in k; repeating each
series L/k times (L the least common multiple of the counts) gives every study L members,
so the merge stays one array operation and its mean over a study's series is exact.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from podium.errors import DataError
from podium.series.files import series_files

Selection = str | int  # "all", "first" or the first n series of a study


def study_series(folder: Path, select: Selection) -> list[Path]:
    """The series folders of a study folder, by name (hidden ones left out), `select`ed; a
    study with no series folder, or a series folder without files, is a DataError naming it."""
    if not folder.is_dir():
        raise DataError(f"study folder not found: {folder} (data.slices.series reads folders)")
    subs = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not subs:
        raise DataError(
            f"study folder {folder} has no series sub-folders (data.slices.series: "
            f"{select!r} reads <study>/<series>/*.dcm)"
        )
    n = len(subs) if select == "all" else 1 if select == "first" else int(select)
    chosen = subs[:n]
    for s in chosen:
        if not series_files(s):
            raise DataError(f"series folder {s} has no DICOM files (study {folder.name})")
    return chosen


def study_files(folder: Path, select: Selection) -> list[Path]:
    """Every slice file of a study's chosen series (the fingerprints and caches list these)."""
    return [f for s in study_series(folder, select) for f in series_files(s)]


@dataclass(frozen=True)
class StudyLayout:
    """Series rows of a split: `study[i]` is series i's row in the study table, `n_studies`
    the table's rows, `replicas` the members each study gets in a merge (module docstring)."""

    study: np.ndarray
    n_studies: int
    replicas: int

    @classmethod
    def from_counts(cls, counts: list[int]) -> StudyLayout:
        study = np.repeat(np.arange(len(counts)), counts)
        return cls(study, len(counts), math.lcm(*sorted(set(counts))) if counts else 1)

    @property
    def counts(self) -> np.ndarray:
        return np.bincount(self.study, minlength=self.n_studies)

    def select(self, rows: np.ndarray) -> tuple[np.ndarray, StudyLayout]:
        """The series rows of study `rows` (in their order) and their layout, which keeps
        this layout's replicas (so a fold's members line up with the split's)."""
        starts = np.concatenate([[0], np.cumsum(self.counts)])
        series = [np.arange(starts[r], starts[r + 1]) for r in rows]
        counts = [len(s) for s in series]
        index = np.concatenate(series) if series else np.zeros(0, np.int64)
        return index, StudyLayout(np.repeat(np.arange(len(rows)), counts), len(rows), self.replicas)

    def members(self, logits: np.ndarray) -> Iterator[np.ndarray]:
        """(V, N_series, C) per-series logits as `replicas` arrays (V, N_studies, C): member j
        of study r is its series j mod k (each series L/k times)."""
        counts = self.counts
        if (counts == 0).any():
            raise ValueError("a study without series")  # study_series refuses it earlier
        starts = np.concatenate([[0], np.cumsum(counts)])[:-1]
        for j in range(self.replicas):
            yield logits[:, starts + j % counts]
