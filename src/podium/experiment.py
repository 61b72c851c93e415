"""An experiment's run: its config, the competition, the shared folds, the run folder and
the decoded image caches. Stages open one of these instead of re-deriving paths.

    runs/<comp>/<exp>/config.yaml         the resolved config
    runs/<comp>/<exp>/run.json            kind, folds hash, task columns
    runs/<comp>/<exp>/fold{k}/seed{s}/    best.pt, last.pt, history.csv, result.json (its stamp)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from podium.artifacts import file_hash, require
from podium.competition import Competition
from podium.config import Config
from podium.data.cache import load_images
from podium.data.metadata import MetadataLayout, competition_layout, split_metadata
from podium.data.read_spec import ReadSpec
from podium.engine.network import uses_metadata
from podium.fingerprint import values_fingerprint
from podium.folds import read_folds
from podium.series.studies import StudyLayout, study_series
from podium.tasks import Task


@dataclass
class Experiment:
    cfg: Config

    @cached_property
    def comp(self) -> Competition:
        return Competition.from_config(self.cfg)

    @property
    def task(self) -> Task:
        return self.comp.task

    @cached_property
    def folds(self) -> pd.DataFrame:
        require(self.cfg.folds_path, "folds file", f"podium folds -c {self.cfg.source}")
        return read_folds(self.cfg.folds_path, self.comp)

    @cached_property
    def folds_hash(self) -> str:
        _ = self.folds  # exists (else: how to make it) and matches train.csv
        return file_hash(self.cfg.folds_path)

    @property
    def fold_of_row(self) -> np.ndarray:
        return self.folds["fold"].to_numpy()

    @property
    def run_dir(self) -> Path:
        return self.cfg.run_dir

    def unit_dir(self, fold: int, seed: int) -> Path:
        return self.run_dir / f"fold{fold}" / f"seed{seed}"

    def units(self, fold: int | None = None, seed: int | None = None) -> list[tuple[int, int]]:
        folds = [fold] if fold is not None else self.cfg.fold_ids()
        seeds = [seed] if seed is not None else self.cfg.train.seeds
        return [(f, s) for f in folds for s in seeds]

    # ---- images ---------------------------------------------------------------------------
    @property
    def cache_size(self) -> tuple[int, int]:
        return self.cfg.data.cache_size or self.cfg.data.image_size

    @property
    def read_spec(self) -> ReadSpec:
        """How files become pixels (`data.channels`, `resize`, `window`, ...)."""
        return ReadSpec.from_config(self.cfg.data)

    def load_images(self, paths: list[Path], name: str) -> np.ndarray:
        """`paths` decoded by the config's reader settings at the cache size, through the
        decode cache (`runs/<comp>/cache/<name>-...npy` unless `data.cache: memory`)."""
        cache_dir = self.cfg.comp_dir / "cache" if self.cfg.data.cache == "memmap" else None
        return load_images(
            paths, self.cache_size, cache_dir, name, self.cfg.train.progress, spec=self.read_spec
        )

    def _images(self, split: str) -> np.ndarray:
        if self.comp.studies is None:
            return self.load_images(self.comp.image_paths(split), split)
        return self.load_images(self._series(split)[0], f"{split}-series")

    def _series(self, split: str) -> tuple[list[Path], StudyLayout]:
        """With `data.slices.series`: the split's series folders, study by study, and which
        study each is (podium.series.studies)."""
        assert self.comp.studies is not None
        studies = [study_series(p, self.comp.studies) for p in self.comp.image_paths(split)]
        return [s for x in studies for s in x], StudyLayout.from_counts([len(x) for x in studies])

    @cached_property
    def train_images(self) -> np.ndarray:
        """(N, H, W, C) uint8, one row per train row; with `data.slices.series` one row per
        series (`train_studies` maps them to the rows)."""
        return self._images("train")

    @cached_property
    def test_images(self) -> np.ndarray:
        return self._images("test")

    @cached_property
    def train_studies(self) -> StudyLayout | None:
        return self._series("train")[1] if self.comp.studies is not None else None

    @cached_property
    def test_studies(self) -> StudyLayout | None:
        return self._series("test")[1] if self.comp.studies is not None else None

    def train_rows(self, rows: np.ndarray) -> tuple[np.ndarray, StudyLayout | None]:
        """The images of train rows `rows` and, with studies, their series' layout (what a
        predictor merges per study)."""
        if self.train_studies is None:
            return self.train_images[rows], None
        index, layout = self.train_studies.select(rows)
        return self.train_images[index], layout

    # ---- metadata: the raw matrices the network reads (None when it reads none) -------------
    @cached_property
    def metadata_layout(self) -> MetadataLayout | None:
        return competition_layout(self.comp) if uses_metadata(self.cfg) else None

    @cached_property
    def train_metadata(self) -> np.ndarray | None:
        return split_metadata(self.comp, "train") if self.metadata_layout else None

    @cached_property
    def test_metadata(self) -> np.ndarray | None:
        return split_metadata(self.comp, "test") if self.metadata_layout else None

    def metadata_fingerprint(self, split: str) -> str:
        """The split's metadata as read (a changed cell retrains / re-predicts)."""
        matrix = self.train_metadata if split == "train" else self.test_metadata
        data = matrix.tobytes() if matrix is not None else b""
        return values_fingerprint([hashlib.sha256(data).hexdigest()])
