"""The ordinal task's two heads (`competition.ordinal_head`), two strategies for predicting a
value on the grade scale: `RegressionHead` (one output, a regression on the grade) and
`ExpectationHead` (one output per grade, the expected grade of their softmax). `Ordinal` holds
one and delegates its width, targets, loss, activation, merge and refusals to it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np
import torch

from podium.config import Config, TrainConfig
from podium.tasks import probability as P
from podium.tasks.capabilities import Sampling
from podium.tasks.losses import LOSSES, RegressionLoss, build_loss
from podium.tasks.regression import value_refusals
from podium.tasks.values import ValueScale

CLASS_LOSSES = ("ce", "focal")


class OrdinalHead(ABC):
    """How the network predicts a value on the grade scale: its width, targets, loss,
    activation and merge, and the settings only it accepts."""

    default_loss: ClassVar[str]

    @property
    @abstractmethod
    def num_outputs(self) -> int: ...

    @abstractmethod
    def training_targets(self, y: np.ndarray) -> np.ndarray: ...

    @abstractmethod
    def build_loss(self, train: TrainConfig, targets: np.ndarray) -> torch.nn.Module: ...

    @abstractmethod
    def activate(self, logits: np.ndarray) -> np.ndarray: ...

    @abstractmethod
    def merge(self, logits: np.ndarray, how: str) -> np.ndarray: ...

    @abstractmethod
    def refusals(self, cfg: Config) -> dict[str, tuple[bool, str]]:
        """key -> (refused?, why) for this head, beside what every value task refuses."""


class RegressionHead(OrdinalHead):
    """One output, a regression on the grade (mse, huber, l1 or bce on the scaled grade)."""

    default_loss = "mse"

    def __init__(self, values: np.ndarray, loss: str) -> None:
        self.loss = loss if loss in LOSSES else "mse"
        self.scale = ValueScale(values, self.loss)

    @property
    def num_outputs(self) -> int:
        return 1

    def training_targets(self, y: np.ndarray) -> np.ndarray:
        return self.scale.training_targets(y)

    def build_loss(self, train: TrainConfig, targets: np.ndarray) -> torch.nn.Module:
        return RegressionLoss(train.loss if train.loss in LOSSES else self.loss)

    def activate(self, logits: np.ndarray) -> np.ndarray:
        return self.scale.activate(logits)

    def merge(self, logits: np.ndarray, how: str) -> np.ndarray:
        return self.scale.merge(logits, how, "an ordinal")

    def refusals(self, cfg: Config) -> dict[str, tuple[bool, str]]:
        loss = cfg.train.loss
        return {
            "train.loss": (
                loss is not None and loss not in LOSSES,
                f"{loss!r} is a classification loss; an ordinal task takes {list(LOSSES)}",
            ),
            **value_refusals(cfg, "ordinal"),
        }


class GradeSampling(Sampling):
    def labels(self, targets: np.ndarray) -> np.ndarray:
        return np.asarray(targets).argmax(axis=1)


class ExpectationHead(OrdinalHead):
    """One output per grade, a soft-target cross-entropy on the grade as a class (ce or
    focal; label smoothing, class weights and samplers apply): pred = the expected grade."""

    default_loss = "ce"

    def __init__(self, grades: np.ndarray) -> None:
        self.grades = grades

    @property
    def num_outputs(self) -> int:
        return len(self.grades)

    def training_targets(self, y: np.ndarray) -> np.ndarray:
        index = np.searchsorted(self.grades, np.asarray(y).reshape(len(y), -1)[:, 0])
        return np.eye(len(self.grades), dtype=np.float32)[index]

    def build_loss(self, train: TrainConfig, targets: np.ndarray) -> torch.nn.Module:
        return build_loss(train, np.asarray(targets).argmax(axis=1), len(self.grades))

    def _expected(self, proba: np.ndarray) -> np.ndarray:
        return proba @ self.grades.astype(np.float64)[:, None]

    def activate(self, logits: np.ndarray) -> np.ndarray:
        return self._expected(P.softmax(np.asarray(logits, np.float64)))

    def merge(self, logits: np.ndarray, how: str) -> np.ndarray:
        """Probabilities merged (`infer.merge`), then their expected grade."""
        return self._expected(P.merge_logits(np.asarray(logits, np.float64), how))

    def refusals(self, cfg: Config) -> dict[str, tuple[bool, str]]:
        value = value_refusals(cfg, "ordinal")
        for key in ("train.class_weights", "train.label_smoothing", "infer.merge"):
            value.pop(key)  # a classifier over grades: class settings apply
        loss = cfg.train.loss
        return {
            "train.loss": (
                loss is not None and loss not in CLASS_LOSSES,
                f"{loss!r} is a regression loss; competition.ordinal_head: expectation "
                f"takes {list(CLASS_LOSSES)} (or set ordinal_head: regression)",
            ),
            **value,
        }
