"""Classification: one label per row among the competition's classes (`multiclass`), or two
classes whose positive one the submission scores (`binary`). The model has one output per
class, trained with a soft-target cross-entropy (one-hot labels, mixup, soft pseudo-labels);
predictions are class probabilities, columns `p_<class>`.

Labels are mapped to class indices here and only here: numeric labels sort numerically
('10' after '9'), others lexically, unless `competition.classes` fixes the order.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch

from podium.config import CompetitionConfig, Config, TrainConfig
from podium.errors import ConfigError, DataError
from podium.metrics import Metric
from podium.metrics.classification import CLASSIFICATION, LOG_LOSS
from podium.tasks import probability as P
from podium.tasks.base import Task, TaskDefaults, resolve_metric
from podium.tasks.capabilities import (
    FoldScheme,
    PseudoCandidates,
    PseudoLabels,
    Sampling,
    SubmissionCodec,
    TabularFit,
)
from podium.tasks.classification_stacking import ClassStacking
from podium.tasks.distillation import SoftmaxDistillation
from podium.tasks.kaggle_frames import frames_builder
from podium.tasks.losses import build_loss

_log = logging.getLogger(__name__)

PROBA_PREFIX = "p_"


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
        _log.warning(
            "%s: labels %s look like one class written %d ways; they are %d classes",
            path,
            same,
            len(same),
            len(same),
        )
    return labels


def class_order(labels: list[str]) -> list[str]:
    """Numeric labels sort numerically ('10' after '9'), others lexically."""
    try:
        return sorted(labels, key=float)
    except ValueError:
        return sorted(labels)


class ClassSubmission(SubmissionCodec):
    """`submission_format: label` writes the class name; `proba` one probability per class
    column (named as in sample_submission). Binary's one non-class column holds the positive
    class's probability (Kaggle's binary format)."""

    def __init__(self, task: Classification) -> None:
        self.task = task

    @property
    def _format(self) -> str:
        return self.task.cfg.submission_format

    def _positive_column(self, columns: list[str]) -> bool:
        return (
            self.task.name == "binary" and len(columns) == 1 and columns[0] not in self.task.index
        )

    def values(self, pred: np.ndarray, columns: list[str]) -> dict[str, np.ndarray]:
        if self._format == "proba" and self._positive_column(columns):
            return {columns[0]: pred[:, 1]}
        if self._format == "label":
            if len(columns) != 1:
                raise DataError(
                    "submission_format=label needs one target column in sample_submission, "
                    f"found {columns}"
                )
            return {columns[0]: self.task.decode(P.labels_of(pred))}
        unknown = [c for c in columns if c not in self.task.index]
        if unknown:
            raise DataError(
                f"sample_submission columns {unknown} are not classes {self.task.classes}"
            )
        return {c: pred[:, self.task.index[c]] for c in columns}

    def check_column(self, values: pd.Series, column: str, source: str) -> None:
        if self._format == "label":
            bad = ~values.astype(str).isin(self.task.classes)
            what = f"not a class {self.task.classes}"
        else:
            num = pd.to_numeric(values, errors="coerce")
            bad = num.isna() | (num < 0) | (num > 1)
            what = "not a probability in [0, 1]"
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(
                f"{source}: line {i + 2}, column {column!r} = {values.iloc[i]!r} is {what}"
            )

    def predictions(self, sub: pd.DataFrame, columns: list[str]) -> np.ndarray:
        if self._format == "proba" and self._positive_column(columns):
            p = sub[columns[0]].astype(float).to_numpy()
            return np.stack([1 - p, p], axis=1)
        n = len(self.task.classes)
        if self._format == "label":
            return np.eye(n)[self.task.encode(sub, Path("submission"))]
        pred = np.zeros((len(sub), n))
        for c in columns:
            pred[:, self.task.index[c]] = sub[c].astype(float)
        return pred


class ClassPseudo(PseudoLabels):
    """A row's class is its argmax, its confidence the top probability; soft targets are
    the teacher's probabilities."""

    def __init__(self, task: Classification) -> None:
        self.task = task

    def candidates(self, pred: np.ndarray) -> PseudoCandidates:
        group = P.labels_of(pred)
        return PseudoCandidates(
            group, len(self.task.classes), pred.max(axis=1), self.task.decode(group)
        )

    @property
    def label_names(self) -> list[str]:
        return list(self.task.classes)

    def targets(self, pred: np.ndarray, soft: bool) -> np.ndarray:
        if soft:
            p = pred.astype(np.float32)
            return p / p.sum(1, keepdims=True)
        return self.task.training_targets(P.labels_of(pred))


class ClassFolds(FoldScheme):
    """Stratified on the class."""

    def __init__(self, classes: list[str]) -> None:
        self.classes = classes

    def stratify_key(self, y: np.ndarray) -> np.ndarray:
        return y

    def describe_stratum(self, key: Any) -> str:
        return f"class {self.classes[int(key)]!r}"


class ClassSampling(Sampling):
    """The class of a one-hot (or soft) training row: its largest entry."""

    def labels(self, targets: np.ndarray) -> np.ndarray:
        return P.labels_of(targets)


class Classification(Task):
    metrics: ClassVar[dict[str, Metric]] = CLASSIFICATION
    defaults: ClassVar[TaskDefaults] = TaskDefaults(metric="accuracy", loss="ce")

    def __init__(self, cfg: CompetitionConfig, source: Path, classes: list[str]) -> None:
        super().__init__(
            cfg,
            source,
            resolve_metric(cfg, self.name, self.metrics, self.defaults, frames_builder(self)),
        )
        self.classes = classes
        self.index = {c: i for i, c in enumerate(classes)}
        self.stacking = ClassStacking(classes)
        self.submission = ClassSubmission(self)
        self.pseudo = ClassPseudo(self)
        self.distill = SoftmaxDistillation()
        self.folds = ClassFolds(classes)
        self.sampling = ClassSampling()
        self.tabular = TabularFit(regressor=False)

    @classmethod
    def clean_table(cls, cfg: CompetitionConfig, table: pd.DataFrame, path: Path) -> pd.DataFrame:
        ids = table[cfg.id_column] if cfg.id_column in table.columns else None
        return table.assign(
            **{cfg.target_column: clean_labels(table[cfg.target_column], path, ids)}
        )

    @classmethod
    def from_table(
        cls,
        cfg: CompetitionConfig,
        train: pd.DataFrame,
        path: Path,
        training: TrainConfig | None = None,
    ) -> Classification:
        if cfg.classes is not None:
            classes = [str(c) for c in cfg.classes]
        else:
            classes = class_order(train[cfg.target_column].unique().tolist())
        if len(classes) < 2:
            raise DataError(
                f"{path} has one class ({classes[0]!r}); a classifier needs at least two"
            )
        return cls(cfg, path, classes)

    def check_config(self, cfg: Config) -> None:
        super().check_config(cfg)
        if cfg.train.loss not in (None, "ce", "focal"):
            raise ConfigError(
                f"train.loss: {cfg.train.loss!r} is a regression loss; a {self.name} task "
                "takes ce or focal"
            )
        refuse_labels_for_a_probability_metric(self, cfg)

    # ---- targets ---------------------------------------------------------------------------
    def encode(self, table: pd.DataFrame, path: Path) -> np.ndarray:
        labels = table[self.cfg.target_column].astype(str)
        unknown = ~labels.isin(self.classes)
        if unknown.any():
            i = int(np.flatnonzero(unknown.to_numpy())[0])
            raise DataError(
                f"{path}: line {i + 2} (id {table[self.cfg.id_column].iloc[i]!r}) has label "
                f"{labels.iloc[i]!r}, which is not one of the classes {self.classes}"
            )
        return labels.map(self.index).to_numpy(np.int64)

    def decode(self, indices: np.ndarray) -> np.ndarray:
        return np.asarray(self.classes, dtype=object)[np.asarray(indices)]

    def target_frame(self, table: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"target": table[self.cfg.target_column].to_numpy()})

    def solution_columns(self, y: np.ndarray) -> dict[str, Any]:
        """The class names, as numbers where every class is one (pandas reads '0'/'1' so)."""
        labels = pd.Series(self.decode(y))
        numbers = pd.to_numeric(labels, errors="coerce")
        values = labels if numbers.isna().any() else numbers
        return {self.cfg.target_column: values.to_numpy()}

    @property
    def num_outputs(self) -> int:
        return len(self.classes)

    @property
    def columns(self) -> list[str]:
        return [f"{PROBA_PREFIX}{c}" for c in self.classes]

    def training_targets(self, y: np.ndarray) -> np.ndarray:
        return np.eye(self.num_outputs, dtype=np.float32)[y]

    # ---- model outputs ---------------------------------------------------------------------
    def build_loss(self, train: TrainConfig, targets: np.ndarray) -> torch.nn.Module:
        return build_loss(train, P.labels_of(targets), self.num_outputs)

    def activate(self, logits: np.ndarray) -> np.ndarray:
        return P.softmax(logits)

    def merge(self, logits: np.ndarray, how: str) -> np.ndarray:
        return P.merge_logits(logits, how)

    @property
    def valid_loss(self) -> Metric:
        return LOG_LOSS


def refuse_labels_for_a_probability_metric(task: Classification, cfg: Config) -> None:
    """A metric that ranks or weighs probabilities (auc, log_loss) scores a submission of
    hard labels as something else than the CV says (a binary AUC of 1.0 in CV, of 0/1 labels
    on the leaderboard): the submission must hold the probabilities."""
    metric = task.metric  # a built-in or a plug-in that says it needs probabilities
    if metric.needs_probabilities and cfg.competition.submission_format == "label":
        raise ConfigError(
            f"{cfg.source}: competition.metric {metric.name!r} scores probabilities, but "
            "competition.submission_format is 'label' (hard labels would be scored, not the "
            "CV's probabilities); set competition.submission_format: proba"
        )


class Multiclass(Classification):
    name = "multiclass"


class Binary(Classification):
    """Two classes; the model keeps a 2-way softmax (the same head and loss as multiclass).
    A submission with one target column that is not a class name holds the probability of
    the positive class, `competition.classes[1]` (Kaggle's binary format)."""

    name = "binary"

    def __init__(self, cfg: CompetitionConfig, source: Path, classes: list[str]) -> None:
        if len(classes) != 2:
            raise DataError(
                f"{source}: a binary task needs exactly two classes, found {len(classes)}: {classes}"
            )
        super().__init__(cfg, source, classes)
