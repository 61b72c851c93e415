"""Multitarget: several target columns per row (per study), each binary, multiclass or
ordinal with its own classes and class weights (RSNA abdominal trauma 2023, RSNA lumbar spine
2024); `competition.targets` (`podium.config.multitarget`) names them.

The model's head is the concatenation of each target's logits (K_t per target: a binary
target keeps a 2-way softmax, as the binary task does); the loss is the sum over targets of
their class-weighted cross-entropies (`multitarget_loss`); predictions are each target's
softmax, columns `<target>_<class>`. The metric is the weighted multi-target log-loss
(`podium.metrics.multitarget`: per target the class-weighted log-loss, pooled by group, the
mean over groups), the validation loss the same unweighted; plug-in metrics work as for any
task (Kaggle's form gets the targets as train.csv writes them, missing ones NaN).

An ordinal target is trained and scored as multiclass over its ordered classes (the
competitions' metric is a log-loss of class probabilities, which the ordinal task's value
head and cut-points do not give); its order is the classes' order.

A missing label (an empty cell) is masked out of the loss and the metric of its target.
Folds: iterative stratification over the one-hot of every target (`multilabel_folds`),
grouped by `competition.group_column` with `stratified_group`. Views, folds and seeds merge
per target (`prob`, `logit`, `geometric`, as classification does). Its ensemble blends
each target's probabilities with weights per target and builds no XGBoost stack
(`multitarget_stacking`); the task has no pseudo-label, distillation, sampling or tabular
capability.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch

from podium.config import CompetitionConfig, Config, TrainConfig
from podium.errors import ConfigError
from podium.metrics import Metric, registry
from podium.metrics.multitarget import multitarget_metrics
from podium.tasks import probability as P
from podium.tasks.base import Task, TaskDefaults, resolve_metric
from podium.tasks.capabilities import FoldScheme
from podium.tasks.kaggle_frames import frames_builder
from podium.tasks.multilabel_folds import multilabel_folds
from podium.tasks.multitarget_codec import MultitargetSubmission, map_columns
from podium.tasks.multitarget_loss import build_multitarget_loss
from podium.tasks.multitarget_schema import (
    Target,
    decode_targets,
    encode_targets,
    labels_from_one_hot,
    missing,
    one_hot,
    read_targets,
)
from podium.tasks.multitarget_stacking import TargetStacking

LOSSES = ("ce", "focal")


class TargetFolds(FoldScheme):
    """Iterative stratification of the one-hot of every target (each (target, class) a
    label; a missing label is no class), its groups split as multilabel's are; the key of
    the meta-model's inner split is the row's set of classes."""

    def __init__(self, targets: list[Target], source: Path) -> None:
        self.targets, self.source = targets, source

    def stratify_key(self, y: np.ndarray) -> np.ndarray:
        _, key = np.unique(np.asarray(y, np.int64), axis=0, return_inverse=True)
        return key.reshape(-1).astype(np.int64)

    def describe_stratum(self, key: Any) -> str:
        return f"class set #{int(key)}"

    def split(
        self, y: np.ndarray, method: str, n_splits: int, seed: int, groups: np.ndarray | None
    ) -> np.ndarray | None:
        if method not in ("stratified", "stratified_group"):
            return None
        labels = [c for t in self.targets for c in t.prediction_columns]
        hot = one_hot(self.targets, np.asarray(y)).astype(np.int64)
        return multilabel_folds(hot, n_splits, seed, groups, labels, str(self.source))


class Multitarget(Task):
    name = "multitarget"
    # the built-in names, for `metric_of` (name and direction); an instance scores its heads
    metrics: ClassVar[dict[str, Metric]] = registry(*multitarget_metrics(()))
    defaults: ClassVar[TaskDefaults] = TaskDefaults(metric="weighted_log_loss", loss="ce")

    def __init__(self, cfg: CompetitionConfig, source: Path, targets: list[Target]) -> None:
        self.targets = targets
        weighted, unweighted = multitarget_metrics([t.head for t in targets])
        own = registry(weighted, unweighted)
        super().__init__(
            cfg, source, resolve_metric(cfg, self.name, own, self.defaults, frames_builder(self))
        )
        self._valid_loss = unweighted
        self.submission = MultitargetSubmission(targets)
        self.folds = TargetFolds(targets, source)
        self.stacking = TargetStacking([t.head for t in targets])

    @classmethod
    def read_layout(
        cls, cfg: CompetitionConfig, table: pd.DataFrame, path: Path, role: str, root: Path
    ) -> pd.DataFrame:
        """train.csv and solution.csv may give a target as one 0/1 column per class (RSNA
        2023's layout): its label column is made from them (`labels_from_one_hot`)."""
        if role in ("train", "solution"):
            return labels_from_one_hot(cfg, table, path)
        return table

    @classmethod
    def clean_table(cls, cfg: CompetitionConfig, table: pd.DataFrame, path: Path) -> pd.DataFrame:
        names = list(cfg.targets or {})
        cleaned: pd.DataFrame = table.assign(
            **{
                n: table[n].astype(str).str.strip().where(~missing(table[n]), "")
                for n in names
                if n in table.columns
            }
        )
        return cleaned

    @classmethod
    def from_table(
        cls,
        cfg: CompetitionConfig,
        train: pd.DataFrame,
        path: Path,
        training: TrainConfig | None = None,
    ) -> Multitarget:
        return cls(cfg, path, read_targets(cfg, train, path))

    def check_config(self, cfg: Config) -> None:
        super().check_config(cfg)
        comp, tc = cfg.competition, cfg.train
        refused = {
            "train.loss": (
                tc.loss is not None and tc.loss not in LOSSES,
                f"{tc.loss!r} is not a multitarget loss; use one of {list(LOSSES)}",
            ),
            "train.class_weights": (
                tc.class_weights != "none",
                "class weights are each target's `weights` (competition.targets.<t>.weights)",
            ),
            "competition.submission_format": (
                comp.submission_format != "proba",
                "a multitarget submission holds probabilities; set it to proba or leave it out",
            ),
        }
        for key, (bad, why) in refused.items():
            if bad:
                raise ConfigError(f"{cfg.source}: {key}: {why} (competition.task: multitarget)")
        sample = cfg.data_dir / comp.sample_submission
        if sample.is_file():
            header = pd.read_csv(sample, dtype=str, nrows=0, keep_default_na=False).columns
            columns = [str(c) for c in header if c != comp.id_column]
            map_columns(self.targets, columns, str(sample))

    # ---- targets ---------------------------------------------------------------------------
    def encode(self, table: pd.DataFrame, path: Path) -> np.ndarray:
        return encode_targets(self.targets, table, path, self.cfg.id_column)

    def target_frame(self, table: pd.DataFrame) -> pd.DataFrame:
        frame: pd.DataFrame = pd.DataFrame(
            {f"target_{t.name}": table[t.name].to_numpy() for t in self.targets}
        )
        return frame

    def solution_columns(self, y: np.ndarray) -> dict[str, Any]:
        return decode_targets(self.targets, y)

    @property
    def num_outputs(self) -> int:
        return sum(t.width for t in self.targets)

    @property
    def columns(self) -> list[str]:
        return [c for t in self.targets for c in t.prediction_columns]

    def training_targets(self, y: np.ndarray) -> np.ndarray:
        return one_hot(self.targets, np.asarray(y))

    # ---- model outputs ---------------------------------------------------------------------
    def build_loss(self, train: TrainConfig, targets: np.ndarray) -> torch.nn.Module:
        return build_multitarget_loss(train, self.targets)

    def activate(self, logits: np.ndarray) -> np.ndarray:
        logits = np.asarray(logits, np.float64)
        return np.concatenate([P.softmax(logits[..., t.block]) for t in self.targets], axis=-1)

    def merge(self, logits: np.ndarray, how: str) -> np.ndarray:
        logits = np.asarray(logits, np.float64)
        return np.concatenate(
            [P.merge_logits(logits[..., t.block], how) for t in self.targets], axis=-1
        )

    @property
    def valid_loss(self) -> Metric:
        return self._valid_loss
