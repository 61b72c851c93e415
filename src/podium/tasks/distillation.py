"""The teacher's side of knowledge distillation, per kind of output (see engine/distill.py).

Multilabel: each label's probability softened alike through its logit, and a BCE at T.
Classification: the teacher's probabilities softened by the temperature T (p^(1/T),
renormalised: the softmax of its log-probabilities / T, which is what T does to logits), and
the student's cross-entropy at the same T, times T^2 so that its gradients keep the labels'
scale (Hinton et al., 2015). Values (regression): the teacher's predictions in the student's
training scale and a squared error (a BCE for the min-max scaled `bce` loss); T does not
apply.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from podium.tasks.capabilities import Distillation
from podium.tasks.probability import softmax


def softened(proba: np.ndarray, temperature: float) -> np.ndarray:
    logp = np.log(np.clip(np.asarray(proba, np.float64), 1e-12, None))
    return softmax(logp / temperature).astype(np.float32)


def soft_cross_entropy(
    logits: torch.Tensor, soft: torch.Tensor, temperature: float
) -> torch.Tensor:
    """Per-row cross-entropy of logits / T against `soft`, times T^2."""
    logp = F.log_softmax(logits.float() / temperature, dim=1)
    return -(soft.float() * logp).sum(1) * temperature**2


def softened_sigmoid(proba: np.ndarray, temperature: float) -> np.ndarray:
    """Independent labels: each probability's logit / T, back through the sigmoid."""
    p = np.clip(np.asarray(proba, np.float64), 1e-7, 1 - 1e-7)
    return (1.0 / (1.0 + np.exp(-np.log(p / (1 - p)) / temperature))).astype(np.float32)


def sigmoid_cross_entropy(
    logits: torch.Tensor, soft: torch.Tensor, temperature: float
) -> torch.Tensor:
    """Per-row mean over labels of the BCE of logits / T against `soft`, times T^2."""
    bce = F.binary_cross_entropy_with_logits(
        logits.float() / temperature, soft.float(), reduction="none"
    )
    return bce.mean(1) * temperature**2


def value_error(logits: torch.Tensor, soft: torch.Tensor, scaled_bce: bool) -> torch.Tensor:
    """Per-row error of the student's outputs against the teacher's (training scale)."""
    if scaled_bce:
        return F.binary_cross_entropy_with_logits(
            logits.float(), soft.float(), reduction="none"
        ).mean(1)
    return (logits.float() - soft.float()).pow(2).mean(1)


class SoftmaxDistillation(Distillation):
    """Classes: the teacher's softened probabilities and a cross-entropy at T."""

    def targets(self, pred: np.ndarray, temperature: float) -> np.ndarray:
        return softened(pred, temperature)

    def loss(self, logits: torch.Tensor, soft: torch.Tensor, temperature: float) -> torch.Tensor:
        return soft_cross_entropy(logits, soft, temperature)


class SigmoidDistillation(Distillation):
    """Independent labels: each label softened through its logit, a BCE at T."""

    def targets(self, pred: np.ndarray, temperature: float) -> np.ndarray:
        return softened_sigmoid(pred, temperature)

    def loss(self, logits: torch.Tensor, soft: torch.Tensor, temperature: float) -> torch.Tensor:
        return sigmoid_cross_entropy(logits, soft, temperature)


class ValueDistillation(Distillation):
    """Values: the teacher's predictions in the student's training scale (`to_training`),
    a squared error (a BCE for the min-max scaled `bce` loss); T does not apply."""

    def __init__(self, to_training: Callable[[np.ndarray], np.ndarray], scaled_bce: bool) -> None:
        self.to_training, self.scaled_bce = to_training, scaled_bce

    def targets(self, pred: np.ndarray, temperature: float) -> np.ndarray:
        return self.to_training(pred)

    def loss(self, logits: torch.Tensor, soft: torch.Tensor, temperature: float) -> torch.Tensor:
        return value_error(logits, soft, scaled_bce=self.scaled_bce)
