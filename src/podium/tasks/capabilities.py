"""What a task may be able to do beyond its core, one small interface per capability.

A `Task` (`podium.tasks.base`) holds one object per capability, or None where the task
cannot do it; `Task.check_config` refuses a config that asks for a missing one, naming the
key, before anything is written, so no capability method ever raises "not supported".

    stacking     how the ensemble blends and stacks the task's predictions (a `Stacking`),
                 or only blends them (a `BlendStacking`: no meta-model, no stack)
    submission   the codec between predictions and the sample submission's columns
    pseudo       which unlabelled rows become pseudo-labels, and their targets
    distill      a teacher's predictions as soft targets, and the student's loss on them
    folds        the stratification key of the folds (and a splitter of the task's own)
    sampling     the class of each training row, for class-balanced sampling
    tabular      how a tabular (pixel) member's scikit-learn estimator fits this task
    decision     what is fitted on OOF rows before scoring (`podium.tasks.decisions`)

Arrays: `y` is the task's encoded target (class indices for classification), `pred` the
task's predictions (N, len(columns)), `logits` raw model outputs.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch

# a blend: fit(preds, y) -> weights; apply(preds, weights) -> pred
BlendFit = Callable[[list[np.ndarray], np.ndarray], np.ndarray]
BlendApply = Callable[[list[np.ndarray], np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Blend:
    fit: BlendFit
    apply: BlendApply
    note: str  # how the report describes its weights ("weights", "log-prob weights")


class BlendStacking(ABC):
    """Called by `podium.ensemble` (candidates, the paired comparison) and by `podium
    predict` to recombine a bundle's members: the blends alone, for a task with no
    meta-model (multitarget), whose ensemble builds no XGBoost stack."""

    # does the task have an XGBoost meta-model (a `Stacking`)? False: no `stack` candidate
    has_meta_model: ClassVar[bool] = False

    @abstractmethod
    def blends(self) -> dict[str, Blend]:
        """The fitted blends the ensemble compares, by candidate name."""

    def correct(self, y: np.ndarray, pred: np.ndarray) -> np.ndarray | None:
        """(N,) bool: is each row right, for the paired McNemar count of two candidates?
        None where "right" is not defined for a row (values, several targets)."""
        return None


class Stacking(BlendStacking):
    """The blends and the XGBoost meta-model (`podium.ensemble.stack`) of the stack."""

    has_meta_model: ClassVar[bool] = True

    @abstractmethod
    def level2_features(
        self, preds: list[np.ndarray], names: list[str], logits: bool, row_stats: bool, mean: bool
    ) -> tuple[np.ndarray, list[str]]:
        """The meta-model's features made from the members' predictions."""

    @abstractmethod
    def prior_margin(self, preds: list[np.ndarray], weights: np.ndarray, prior: str) -> np.ndarray:
        """The meta-model's starting scores (XGBoost base_margin) from a blend of members."""

    @abstractmethod
    def meta_estimator(self, params: dict[str, Any]) -> Any:
        """The XGBoost meta-model (sklearn API) with this task's objective and evaluation
        metric, built from `params` (the stage's and the user's arguments)."""

    @abstractmethod
    def meta_predict(self, model: Any, x: np.ndarray, margin: np.ndarray | None) -> np.ndarray:
        """A fitted meta-model's predictions."""


class SubmissionCodec(ABC):
    """Called by `podium.submission` (submit, `podium predict`) and `podium score`."""

    # may a submission cell be empty (a multilabel row with no tag)?
    allows_empty: bool = False

    @abstractmethod
    def values(self, pred: np.ndarray, columns: list[str]) -> dict[str, np.ndarray]:
        """The sample submission's target `columns` filled from (decided) predictions."""

    @abstractmethod
    def check_column(self, values: pd.Series, column: str, source: str) -> None:
        """Refuse a submission column whose values this task cannot have (names the line)."""

    @abstractmethod
    def predictions(self, sub: pd.DataFrame, columns: list[str]) -> np.ndarray:
        """A submission's values back as predictions, to score them (`podium score`)."""


@dataclass(frozen=True)
class PseudoCandidates:
    """What pseudo-label selection needs of a teacher's predictions (N rows)."""

    group: np.ndarray  # (N,) int in [0, groups): rows are ranked and capped within a group
    groups: int  # how many groups there are (the classes), empty ones included
    confidence: np.ndarray  # (N,) float: higher is surer
    label: np.ndarray  # (N,) the label a row would get, as written in train.csv


class PseudoLabels(ABC):
    """Called by `podium.pseudo` when a teacher's test predictions become training rows."""

    @abstractmethod
    def candidates(self, pred: np.ndarray) -> PseudoCandidates:
        """Groups, confidences and labels of a teacher's predictions."""

    @property
    @abstractmethod
    def label_names(self) -> list[str]:
        """Every label a pseudo row can get, as written in train.csv (per-label reports)."""

    @abstractmethod
    def targets(self, pred: np.ndarray, soft: bool) -> np.ndarray:
        """Training targets of pseudo rows: the teacher's predictions or hard labels."""


class Distillation(ABC):
    """Called by `podium.units.distill` (the teacher's side) and `podium.engine.distill`
    (the student's loss) for `train.distill`."""

    @abstractmethod
    def targets(self, pred: np.ndarray, temperature: float) -> np.ndarray:
        """A teacher's merged predictions (N, columns) as the student's soft targets."""

    @abstractmethod
    def loss(self, logits: torch.Tensor, soft: torch.Tensor, temperature: float) -> torch.Tensor:
        """Per-row loss of the student's logits against `targets`."""


class FoldScheme(ABC):
    """Called by `podium.folds` (stratified folds, their errors) and the stack's inner split."""

    @abstractmethod
    def stratify_key(self, y: np.ndarray) -> np.ndarray:
        """(N,) key that stratified folds balance (the class, a quantile bin...)."""

    @abstractmethod
    def describe_stratum(self, key: Any) -> str:
        """How an error names one stratum ("class '3'")."""

    def split(
        self, y: np.ndarray, method: str, n_splits: int, seed: int, groups: np.ndarray | None
    ) -> np.ndarray | None:
        """(N,) fold of each row where the task splits its own way (multilabel: iterative
        stratification); None leaves it to scikit-learn's splitters."""
        return None


class Sampling(ABC):
    """Called by `podium.engine.inputs` when `train.sampler` balances classes."""

    @abstractmethod
    def labels(self, targets: np.ndarray) -> np.ndarray:
        """(N,) class of each training row, from its training targets."""


@dataclass(frozen=True)
class TabularFit:
    """How `podium.tabular` fits a tabular member (an estimator on pixels) for this task."""

    # the estimator predicts values (a regressor), not class probabilities (a classifier)
    regressor: bool
    # the estimator as this task needs it (multilabel: one-vs-rest); default as it is
    wrap: Callable[[Any], Any] = lambda model: model
