"""Losses over soft targets (classification) and over scaled values (regression). Every training row carries a probability vector (one-hot for a
label, mixed for mixup/cutmix, a teacher's distribution for a soft pseudo-label) and a loss
weight, so one formula serves labels, mixup and pseudo rows alike:

    loss = sum_i w_i * cw_i * l_i / sum_i cw_i
    l_i  = -sum_c t_ic * (1 - p_ic)^gamma * log p_ic      (gamma = 0: cross-entropy)

with t smoothed by `label_smoothing`, cw_i = sum_c t_ic * class_weight_c (1 without class
weights), matching torch's weighted cross-entropy for hard labels.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from podium.config import TrainConfig
from podium.errors import ConfigError


class SoftTargetLoss(torch.nn.Module):
    class_weights: torch.Tensor | None  # a registered buffer (Module.__getattr__ is untyped)

    def __init__(
        self,
        gamma: float = 0.0,
        label_smoothing: float = 0.0,
        class_weights: torch.Tensor | None = None,
    ):
        super().__init__()
        self.gamma = gamma
        self.label_smoothing = label_smoothing
        self.register_buffer("class_weights", class_weights if class_weights is not None else None)

    def forward(
        self, logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None
    ) -> torch.Tensor:
        logp = F.log_softmax(logits.float(), dim=1)
        t = target.float()
        if self.label_smoothing:
            t = t * (1 - self.label_smoothing) + self.label_smoothing / t.shape[1]
        per_class = -t * logp
        if self.gamma:
            per_class = per_class * (1 - logp.exp()).pow(self.gamma)
        loss = per_class.sum(1)
        cw = (
            (target.float() * self.class_weights).sum(1)
            if self.class_weights is not None
            else torch.ones_like(loss)
        )
        w = cw if weight is None else cw * weight
        return (w * loss).sum() / cw.sum().clamp_min(1e-12)


def class_weights_for(
    cfg: TrainConfig, labels: np.ndarray, num_classes: int
) -> torch.Tensor | None:
    """'balanced' = n / (C * count_c), sklearn's definition; a list is taken as given."""
    if cfg.class_weights == "none":
        return None
    if cfg.class_weights == "balanced":
        counts = np.bincount(labels, minlength=num_classes).astype(np.float64)
        w = len(labels) / (num_classes * np.maximum(counts, 1))
    else:
        w = np.asarray(cfg.class_weights, dtype=np.float64)
        if len(w) != num_classes:
            raise ConfigError(f"train.class_weights has {len(w)} values for {num_classes} classes")
    return torch.tensor(w, dtype=torch.float32)


def build_loss(cfg: TrainConfig, labels: np.ndarray, num_classes: int) -> SoftTargetLoss:
    gamma = cfg.focal_gamma if cfg.loss == "focal" else 0.0
    # with mixup the smoothing is applied once, here, not again inside timm's Mixup
    return SoftTargetLoss(gamma, cfg.label_smoothing, class_weights_for(cfg, labels, num_classes))


# regression: over targets scaled by the task (z-scores; min-max for bce)
LOSSES = ("mse", "huber", "l1", "bce")


class RegressionLoss(torch.nn.Module):
    """loss(outputs, scaled targets, row weights): the per-row loss averaged over targets,
    then the weighted mean over rows (sum_i w_i l_i / N, as SoftTargetLoss without class
    weights)."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        if kind not in LOSSES:
            raise ConfigError(f"train.loss: {kind!r} is not a regression loss {list(LOSSES)}")
        self.name = kind

    def forward(
        self, out: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None
    ) -> torch.Tensor:
        out, target = out.float(), target.float()
        if self.name == "mse":
            per = F.mse_loss(out, target, reduction="none")
        elif self.name == "huber":
            per = F.huber_loss(out, target, reduction="none", delta=1.0)
        elif self.name == "l1":
            per = F.l1_loss(out, target, reduction="none")
        else:
            per = F.binary_cross_entropy_with_logits(out, target, reduction="none")
        loss = per.mean(dim=1)
        if weight is not None:
            loss = loss * weight
        return loss.sum() / max(1, len(loss))
