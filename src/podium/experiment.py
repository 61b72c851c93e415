"""An experiment's run: its config, the competition, the shared folds, the run folder and
the decoded image caches. Stages open one of these instead of re-deriving paths.

    runs/<comp>/<exp>/config.yaml         the resolved config
    runs/<comp>/<exp>/run.json            folds hash, config hash, classes
    runs/<comp>/<exp>/fold{k}/seed{s}/    best.pt, last.pt, history.csv, result.json
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from podium.artifacts import (
    ArtifactError,
    check_folds_hash,
    file_hash,
    read_json,
    require,
    write_json,
)
from podium.competition import Competition
from podium.config import Config, save_resolved
from podium.data.cache import load_images
from podium.folds import read_folds


@dataclass
class Experiment:
    cfg: Config

    @cached_property
    def comp(self) -> Competition:
        return Competition.from_config(self.cfg)

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

    def prepare(self, force: bool = False) -> None:
        """Create (or check) the run folder. A run refuses to mix artifacts made under a
        different training config or different folds; `force` starts it over."""
        if force and self.run_dir.exists():
            shutil.rmtree(self.run_dir)
        check_folds_hash(self.run_dir, self.folds_hash)
        meta = self.run_dir / "run.json"
        if meta.exists():
            recorded = read_json(meta)
            if recorded["config_hash"] != self.cfg.training_hash():
                raise ArtifactError(
                    f"{self.run_dir} holds units trained under another config (see its config.yaml); "
                    "use a new experiment name, or --force to start over"
                )
        self.run_dir.mkdir(parents=True, exist_ok=True)
        save_resolved(self.cfg, self.run_dir / "config.yaml")
        write_json(
            meta,
            {
                "folds_hash": self.folds_hash,
                "config_hash": self.cfg.training_hash(),
                "classes": self.comp.classes,
            },
        )

    # ---- images ---------------------------------------------------------------------------
    @property
    def cache_size(self) -> tuple[int, int]:
        return tuple(self.cfg.data.cache_size or self.cfg.data.image_size)

    def _images(self, split: str) -> np.ndarray:
        cache_dir = self.cfg.comp_dir / "cache" if self.cfg.data.cache == "memmap" else None
        return load_images(
            self.comp.image_paths(split), self.cache_size, cache_dir, split, self.cfg.train.progress
        )

    @cached_property
    def train_images(self) -> np.ndarray:
        return self._images("train")

    @cached_property
    def test_images(self) -> np.ndarray:
        return self._images("test")
