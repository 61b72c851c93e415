"""Multilabel: any number of labels per row, none included (Planet's tags, HPA's proteins,
RANZCR's catheter findings). Targets are read by `tags` (a tags column or one 0/1 column per
label) into a (N, L) 0/1 matrix; the model has one output per label, each an independent
sigmoid (`multilabel_loss`: bce, focal or asl, per-label positive weights, label smoothing);
predictions are per-label probabilities, columns `p_<label>`.

Metrics: `podium.metrics.multilabel` (mean column AUC, average precision, F-beta micro /
macro / samples); an F metric's thresholds are the task's decision
(`podium.tasks.decisions.Thresholds`, fitted on the OOF rows CV-honestly). Folds: iterative
stratification (`multilabel_folds`). Views, folds and seeds merge by the mean of
probabilities (`prob`) or the sigmoid of the mean logit (`logit`). Blends: the mean, a
simplex-weighted mean (`blend`), one weighted mean per label (`label_blend`) and a weighted
sum of logits (`logit_blend`) (`multilabel_stacking`). Tabular members are fitted one-vs-rest.

The submission (`competition.submission_format`): `label` writes one column of tags, the
labels whose probability reaches its threshold (an empty cell when none does); `proba` writes
one column per label: the probability for ranking metrics (auc, average_precision), the 0/1
decision for F metrics. There is no pseudo-label or sampling capability (they need one class
per row).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch
from sklearn.multiclass import OneVsRestClassifier

from podium.config import CompetitionConfig, Config, TrainConfig
from podium.errors import ConfigError, DataError
from podium.metrics import Metric
from podium.metrics.multilabel import FBETA, LOG_LOSS, MULTILABEL
from podium.tasks import tags as T
from podium.tasks.base import Task, TaskDefaults, resolve_metric
from podium.tasks.capabilities import FoldScheme, SubmissionCodec, TabularFit
from podium.tasks.decisions import MetricThresholds, Thresholds
from podium.tasks.distillation import SigmoidDistillation
from podium.tasks.kaggle_frames import frames_builder
from podium.tasks.multilabel_folds import multilabel_folds
from podium.tasks.multilabel_loss import LOSSES, build_multilabel_loss
from podium.tasks.multilabel_stacking import LabelStacking

_log = logging.getLogger(__name__)

PROBA_PREFIX = "p_"


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, np.float64)))  # overflow-free


class LabelSubmission(SubmissionCodec):
    """`label`: one column of tags, the labels at or above 0.5 of (decided) predictions, an
    empty cell for none; `proba`: one column per label, the probability, or the 0/1 decision
    where the task decides (an F metric)."""

    allows_empty = True  # a row with no tag

    def __init__(self, task: Multilabel) -> None:
        self.task = task

    def values(self, pred: np.ndarray, columns: list[str]) -> dict[str, np.ndarray]:
        cfg, labels = self.task.cfg, self.task.labels
        T.check_sample_columns(cfg, labels, columns, Path("sample_submission"))
        decided = np.asarray(pred) >= 0.5
        if cfg.submission_format == "label":
            if self.task.decision is None:
                _log.warning("tags at threshold 0.5 (metric %s fits none)", self.task.metric.name)
            return {columns[0]: T.decode_tags(decided, labels)}
        values = decided.astype(np.int64) if self.task.decision is not None else pred
        return {c: values[:, labels.index(c)] for c in columns}

    def check_column(self, values: pd.Series, column: str, source: str) -> None:
        labels = self.task.labels
        if self.task.cfg.submission_format == "label":
            known = set(labels)
            for i, tags in enumerate(T.split_tags(values)):
                unknown = [t for t in tags if t not in known]
                if unknown:
                    raise DataError(
                        f"{source}: line {i + 2}, column {column!r} has tag {unknown[0]!r}, "
                        f"not one of the labels {labels}"
                    )
            return
        num = pd.to_numeric(values, errors="coerce")
        bad = num.isna() | (num < 0) | (num > 1)
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(
                f"{source}: line {i + 2}, column {column!r} = {values.iloc[i]!r} is not a "
                "probability in [0, 1]"
            )

    def predictions(self, sub: pd.DataFrame, columns: list[str]) -> np.ndarray:
        cfg, labels = self.task.cfg, self.task.labels
        if cfg.submission_format == "label":
            table = pd.DataFrame({cfg.target_column: sub[columns[0]].fillna("")})
            return T.encode_tags(cfg, labels, table, Path("submission")).astype(float)
        pred = np.zeros((len(sub), len(labels)))
        for c in columns:
            pred[:, labels.index(c)] = sub[c].astype(float)
        return pred


class LabelFolds(FoldScheme):
    """Iterative stratification of every label (`multilabel_folds`); the label set of each
    row as an integer is the key of the meta-model's inner split (which stratifies only when
    every set has two rows)."""

    def __init__(self, labels: list[str], source: Path) -> None:
        self.labels, self.source = labels, source

    def stratify_key(self, y: np.ndarray) -> np.ndarray:
        _, key = np.unique(np.asarray(y, np.int8), axis=0, return_inverse=True)
        return key.reshape(-1).astype(np.int64)

    def describe_stratum(self, key: Any) -> str:
        return f"label set #{int(key)}"

    def split(
        self, y: np.ndarray, method: str, n_splits: int, seed: int, groups: np.ndarray | None
    ) -> np.ndarray | None:
        if method not in ("stratified", "stratified_group"):
            return None
        return multilabel_folds(y, n_splits, seed, groups, self.labels, str(self.source))


class Multilabel(Task):
    name = "multilabel"
    metrics: ClassVar[dict[str, Metric]] = MULTILABEL
    defaults: ClassVar[TaskDefaults] = TaskDefaults(metric="auc", loss="bce")

    def __init__(self, cfg: CompetitionConfig, source: Path, labels: list[str]) -> None:
        super().__init__(
            cfg,
            source,
            resolve_metric(cfg, self.name, self.metrics, self.defaults, frames_builder(self)),
        )
        self.labels = labels
        if self.metric.source is None and self.metric.name in FBETA:
            beta, average = FBETA[self.metric.name]
            self.decision = Thresholds(beta, average, cfg.thresholds == "per_label", labels)
        elif self.metric.source is not None and self.metric.needs == "decisions":
            self.decision = MetricThresholds(self.metric, labels)
        self.stacking = LabelStacking(labels)
        self.submission = LabelSubmission(self)
        self.distill = SigmoidDistillation()
        self.folds = LabelFolds(labels, source)
        self.tabular = TabularFit(regressor=False, wrap=OneVsRestClassifier)

    @classmethod
    def clean_table(cls, cfg: CompetitionConfig, table: pd.DataFrame, path: Path) -> pd.DataFrame:
        return T.clean_tags(cfg, table, path)

    @classmethod
    def from_table(
        cls,
        cfg: CompetitionConfig,
        train: pd.DataFrame,
        path: Path,
        training: TrainConfig | None = None,
    ) -> Multilabel:
        labels = T.labels_of(cfg, train)
        if not labels:
            raise DataError(f"{path}: no row has a tag in {cfg.target_column!r}; nothing to learn")
        if len(set(labels)) != len(labels):
            raise ConfigError(f"competition.classes lists a label twice: {labels}")
        task = cls(cfg, path, labels)
        counts = task.encode(train, path).sum(axis=0)
        unused = [label for label, n in zip(labels, counts, strict=True) if n == 0]
        if unused:
            _log.warning(
                "%s: label(s) %s have no positive row; they are learnt as absent", path, unused
            )
        return task

    def check_config(self, cfg: Config) -> None:
        super().check_config(cfg)
        tc, comp = cfg.train, cfg.competition
        refused = {
            "train.loss": (
                tc.loss is not None and tc.loss not in LOSSES,
                f"{tc.loss!r} is not a multilabel loss; use one of {list(LOSSES)}",
            ),
            "infer.merge": (
                cfg.infer.merge == "geometric",
                "'geometric' renormalises a softmax; use prob (mean of sigmoids) or logit "
                "(sigmoid of the mean logit)",
            ),
        }
        for key, (bad, why) in refused.items():
            if bad:
                raise ConfigError(f"{cfg.source}: {key}: {why} (competition.task: multilabel)")
        sample = cfg.data_dir / comp.sample_submission
        if sample.is_file():
            header = pd.read_csv(sample, dtype=str, nrows=0, keep_default_na=False).columns
            columns = [str(c) for c in header if c != comp.id_column]
            T.check_sample_columns(comp, self.labels, columns, sample)

    # ---- targets ---------------------------------------------------------------------------
    def encode(self, table: pd.DataFrame, path: Path) -> np.ndarray:
        return T.encode_tags(self.cfg, self.labels, table, path)

    def target_frame(self, table: pd.DataFrame) -> pd.DataFrame:
        if T.is_tags(self.cfg):
            return pd.DataFrame({"target": table[self.cfg.target_column].to_numpy()})
        return pd.DataFrame({f"target_{c}": table[c].to_numpy() for c in self.cfg.target_names})

    @property
    def num_outputs(self) -> int:
        return len(self.labels)

    @property
    def columns(self) -> list[str]:
        return [f"{PROBA_PREFIX}{label}" for label in self.labels]

    def training_targets(self, y: np.ndarray) -> np.ndarray:
        return np.asarray(y, np.float32)

    # ---- model outputs ---------------------------------------------------------------------
    def build_loss(self, train: TrainConfig, targets: np.ndarray) -> torch.nn.Module:
        return build_multilabel_loss(train, targets)

    def activate(self, logits: np.ndarray) -> np.ndarray:
        return sigmoid(logits)

    def merge(self, logits: np.ndarray, how: str) -> np.ndarray:
        """prob: mean of the sigmoids; logit: sigmoid of the mean logit."""
        if how == "prob":
            return sigmoid(logits).mean(axis=0)
        if how == "logit":
            return sigmoid(np.asarray(logits, np.float64).mean(axis=0))
        raise ConfigError(f"infer.merge: {how!r} does not apply to a multilabel task")

    @property
    def valid_loss(self) -> Metric:
        return LOG_LOSS
