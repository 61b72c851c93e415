"""Mixup / CutMix through timm's `Mixup`, which draws lambda and the boxes and mixes the
images. Its `__call__` builds one-hot targets from integer labels; podium's targets are
already probability vectors (soft pseudo-labels), so this subclass mixes those instead,
with the same pairing (the batch flipped) that timm uses."""

from __future__ import annotations

import torch
from timm.data import Mixup

from podium.config import TrainConfig


class SoftTargetMixup(Mixup):
    def __call__(self, x: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if len(x) % 2:
            raise ValueError("mixup needs an even batch (the train loader drops the last batch)")
        if self.mode == "elem":
            lam = self._mix_elem(x)
        elif self.mode == "pair":
            lam = self._mix_pair(x)
        else:
            lam = self._mix_batch(x)
        lam = torch.as_tensor(lam, dtype=target.dtype, device=target.device)
        if lam.ndim == 1:
            lam = lam.unsqueeze(1)
        return x, target * lam + target.flip(0) * (1 - lam)


def build_mixup(cfg: TrainConfig, num_classes: int) -> SoftTargetMixup | None:
    if cfg.mixup_alpha <= 0 and cfg.cutmix_alpha <= 0:
        return None
    return SoftTargetMixup(
        mixup_alpha=cfg.mixup_alpha,
        cutmix_alpha=cfg.cutmix_alpha,
        prob=cfg.mixup_prob,
        label_smoothing=0.0,
        num_classes=num_classes,
    )
