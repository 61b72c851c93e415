"""A bundle's members predicting the test images (`podium predict`): a network's units through
the code `podium infer` runs (`UnitPredictor`: batched TTA, the task's merge), a tabular
member's stored models on its features; each gives its predictions merged over its folds and
fold by fold, as `infer` writes test.parquet and test_by_fold.parquet. And the estimate of
how long they take, timed on one batch."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from podium.bundle.manifest import MANIFEST
from podium.config import Config
from podium.errors import ArtifactError
from podium.experiment import Experiment
from podium.tabular.features import split_features
from podium.tabular.fit import predict_seeds
from podium.tabular.store import load_model
from podium.units.predict import UnitPredictor, merge_test


@dataclass(frozen=True)
class MemberPredictions:
    """A member's test predictions: merged over its folds (its test.parquet) and each
    fold's models alone (its test_by_fold.parquet)."""

    merged: np.ndarray
    by_fold: dict[int, np.ndarray]


class MemberRun(ABC):
    """One member's test predictions from the bundle (an entry of the manifest's `members`,
    written by `podium export`: see `member_run`)."""

    def __init__(self, entry: dict[str, Any], cfg: Config) -> None:
        self.entry, self.cfg, self.exp = entry, cfg, Experiment(cfg)
        self.name = entry["name"]

    @property
    @abstractmethod
    def n_models(self) -> int:
        """The models it predicts with (the progress bar's steps)."""

    @property
    @abstractmethod
    def views(self) -> int:
        """The views of each test image a model predicts."""

    @abstractmethod
    def predict(self, bar: tqdm) -> MemberPredictions:
        """The member's test predictions, merged and per fold, advancing `bar` once per
        model."""


class UnitsRun(MemberRun):
    """A network's units (a CNN experiment or a pseudo-label student), through the code
    `podium infer` runs."""

    @property
    def n_models(self) -> int:
        return len(self.entry["folds"]) * len(self.entry["seeds"]) * len(self.entry["weights"])

    @property
    def views(self) -> int:
        return len(self.cfg.infer.tta)

    def predict(self, bar: tqdm) -> MemberPredictions:
        predictor = UnitPredictor(self.exp)
        logits = predictor.test_logits(
            self.exp.test_images, on_model=lambda: bar.update(1), studies=self.exp.test_studies
        )
        task, merge = self.exp.task, self.cfg.infer.merge
        by_fold = {k: task.merge(v, merge) for k, v in logits.items()}  # as `podium infer`
        return MemberPredictions(merge_test(task, logits, merge), by_fold)


class TabularRun(MemberRun):
    """A tabular member: each fold's stored seed models on the test features, averaged."""

    @property
    def n_models(self) -> int:
        return len(self.entry["folds"])

    @property
    def views(self) -> int:
        return 1

    def predict(self, bar: tqdm) -> MemberPredictions:
        x = split_features(self.exp, self.cfg.section("tabular"), "test")
        by_fold = {}
        for k in self.entry["folds"]:
            fold_dir = self.exp.run_dir / f"fold{k}"
            models = [load_model(fold_dir / f"model_seed{s}") for s in self.entry["seeds"]]
            by_fold[int(k)] = predict_seeds(models, x, self.exp.task.num_outputs)
            bar.update(1)
        return MemberPredictions(np.mean(list(by_fold.values()), axis=0), by_fold)


# a member entry's `kind` (bundle.contents' export_cnn / export_tabular) -> how it predicts
_MEMBER_RUNS: dict[str, type[MemberRun]] = {"cnn": UnitsRun, "tabular": TabularRun}


def member_run(entry: dict[str, Any], cfg: Config, bundle: Path) -> MemberRun:
    run = _MEMBER_RUNS.get(entry["kind"])
    if run is None:
        raise ArtifactError(f"{bundle / MANIFEST}: unknown member kind {entry['kind']!r}")
    return run(entry, cfg)


def estimate_seconds(runs: list[MemberRun], n_images: int) -> float | None:
    """Seconds for every member, from one timed batch of the first CNN member's first unit."""
    cnn = next((r for r in runs if isinstance(r, UnitsRun)), None)
    if cnn is None or n_images == 0:
        return None
    images = cnn.exp.test_images[: min(n_images, 64)]
    predictor = UnitPredictor(cnn.exp)
    fold, seed = cnn.entry["folds"][0], cnn.entry["seeds"][0]
    predictor.logits(fold, seed, images[:8], ["identity"])  # warm-up: first call allocates
    t0 = time.perf_counter()
    predictor.logits(fold, seed, images, ["identity"])
    per_pass = (time.perf_counter() - t0) / len(images)
    passes = sum(r.n_models * r.views for r in runs if isinstance(r, UnitsRun))
    return per_pass * n_images * passes
