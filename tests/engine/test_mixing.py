"""Mixup / CutMix over soft targets: images and targets mixed with the same lambda and the
same pairing (the batch reversed), as timm does it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from podium.config import TrainConfig
from podium.engine.mixing import build_mixup


def batch(n: int = 6):
    torch.manual_seed(0)
    x = torch.rand(n, 3, 8, 8)
    t = torch.eye(4)[torch.tensor([0, 1, 2, 3, 0, 1][:n])]
    return x, t


def test_off_by_default():
    assert build_mixup(TrainConfig(), 4) is None


def test_mixup_mixes_images_and_targets_with_one_lambda():
    np.random.seed(0)
    mix = build_mixup(TrainConfig(mixup_alpha=0.4), 4)
    x, t = batch()
    mixed_x, mixed_t = mix(x.clone(), t)
    lam = mixed_t[0, 0].item()  # row 0 is class 0, its partner (row 5) class 1
    assert 0 < lam < 1
    torch.testing.assert_close(mixed_x, lam * x + (1 - lam) * x.flip(0))
    torch.testing.assert_close(mixed_t, lam * t + (1 - lam) * t.flip(0))
    torch.testing.assert_close(mixed_t.sum(1), torch.ones(6))


def test_cutmix_target_weights_match_the_pasted_area():
    np.random.seed(1)
    mix = build_mixup(TrainConfig(cutmix_alpha=1.0), 4)
    x, t = batch()
    mixed_x, mixed_t = mix(x.clone(), t)
    from_partner = (mixed_x[0] == x[5]).all(0).float().mean().item()  # pixels taken from row 5
    assert mixed_t[0, 1].item() == pytest.approx(from_partner, abs=1e-6)


def test_soft_targets_stay_soft():
    mix = build_mixup(TrainConfig(mixup_alpha=1.0), 3)
    x = torch.rand(4, 3, 4, 4)
    t = torch.tensor([[0.5, 0.5, 0.0], [0.0, 0.2, 0.8], [1.0, 0.0, 0.0], [0.3, 0.3, 0.4]])
    _, mixed = mix(x, t)
    torch.testing.assert_close(mixed.sum(1), torch.ones(4))


def test_odd_batch_is_refused():
    mix = build_mixup(TrainConfig(mixup_alpha=0.4), 4)
    x, t = batch(5)
    with pytest.raises(ValueError, match="even batch"):
        mix(x, t)
