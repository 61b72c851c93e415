"""Losses of independent sigmoid outputs (multilabel), over targets in [0, 1]: multi-hot labels,
mixup/cutmix mixtures of them (`engine.mixing` mixes the target vectors as they are) and soft
pseudo-labels alike.

    bce    binary cross-entropy with logits
    focal  bce x (1 - p_t)^gamma             (Lin et al.; gamma = train.focal_gamma)
    asl    asymmetric loss (Ridnik et al., 2021): positives  -t (1-p)^g+ log p, negatives
           -(1-t) q^g- log(1-q) with q = max(p - clip, 0), so easy negatives (most labels of
           most rows) weigh little and the rarest are shifted out; g- = train.asl_gamma_neg,
           g+ = train.asl_gamma_pos, clip = train.asl_clip

Per-label positive weights (`train.class_weights`: 'balanced' = negatives / positives of each
label in the training rows, as torch's `pos_weight`; or one value per label) scale the
positive term. `train.label_smoothing` e pulls each target towards 1/2: t (1 - e) + e / 2.
The per-row loss is the mean over labels; rows are averaged with their loss weights
(pseudo rows), as the other tasks' losses.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from podium.config import TrainConfig
from podium.errors import ConfigError

LOSSES = ("bce", "focal", "asl")
MAX_POS_WEIGHT = 100.0  # 'balanced' on a label with one positive in 5,000 rows: capped


def positive_weights(cfg: TrainConfig, targets: np.ndarray) -> torch.Tensor | None:
    """(L,) weights of the positive term, or None."""
    if cfg.class_weights == "none":
        return None
    n_labels = targets.shape[1]
    if cfg.class_weights == "balanced":
        pos = np.asarray(targets, np.float64).sum(axis=0)
        w = np.clip(
            (len(targets) - pos) / np.maximum(pos, 1.0), 1.0 / MAX_POS_WEIGHT, MAX_POS_WEIGHT
        )
    else:
        w = np.asarray(cfg.class_weights, dtype=np.float64)
        if len(w) != n_labels:
            raise ConfigError(f"train.class_weights has {len(w)} values for {n_labels} labels")
    return torch.tensor(w, dtype=torch.float32)


class MultilabelLoss(torch.nn.Module):
    """loss(logits (N, L), targets (N, L) in [0, 1], row weights (N,) or None)."""

    pos_weight: torch.Tensor | None  # a registered buffer

    def __init__(
        self,
        kind: str = "bce",
        pos_weight: torch.Tensor | None = None,
        label_smoothing: float = 0.0,
        gamma: float = 2.0,
        gamma_neg: float = 4.0,
        gamma_pos: float = 1.0,
        clip: float = 0.05,
    ) -> None:
        super().__init__()
        if kind not in LOSSES:
            raise ConfigError(f"train.loss: {kind!r} is not a multilabel loss {list(LOSSES)}")
        self.name, self.label_smoothing, self.gamma = kind, label_smoothing, gamma
        self.gamma_neg, self.gamma_pos, self.clip = gamma_neg, gamma_pos, clip
        self.register_buffer("pos_weight", pos_weight)

    def forward(
        self, logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None
    ) -> torch.Tensor:
        x, t = logits.float(), target.float()
        if self.label_smoothing:
            t = t * (1 - self.label_smoothing) + self.label_smoothing / 2
        pw = self.pos_weight if self.pos_weight is not None else torch.ones_like(x[0])
        if self.name == "asl":
            p = torch.sigmoid(x)
            q = (p - self.clip).clamp_min(0.0) if self.clip else p
            log_pos = F.logsigmoid(x)
            log_neg = torch.log((1.0 - q).clamp_min(1e-8))
            per = -(
                pw * t * (1.0 - p).pow(self.gamma_pos) * log_pos
                + (1.0 - t) * q.pow(self.gamma_neg) * log_neg
            )
        else:
            per = F.binary_cross_entropy_with_logits(x, t, pos_weight=pw, reduction="none")
            if self.name == "focal":
                p = torch.sigmoid(x)
                p_t = p * t + (1.0 - p) * (1.0 - t)
                per = per * (1.0 - p_t).pow(self.gamma)
        loss = per.mean(dim=1)
        if weight is not None:
            loss = loss * weight
        return loss.sum() / max(1, len(loss))


def build_multilabel_loss(cfg: TrainConfig, targets: np.ndarray) -> MultilabelLoss:
    return MultilabelLoss(
        cfg.loss or "bce",
        positive_weights(cfg, targets),
        cfg.label_smoothing,
        cfg.focal_gamma,
        cfg.asl_gamma_neg,
        cfg.asl_gamma_pos,
        cfg.asl_clip,
    )
