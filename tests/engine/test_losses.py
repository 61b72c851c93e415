"""The soft-target loss against hand computations: cross-entropy, label smoothing, class
weights, focal loss, soft targets and per-row weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.utils.class_weight import compute_class_weight

from podium.config import ConfigError, TrainConfig
from podium.tasks.losses import SoftTargetLoss, build_loss, class_weights_for

LOGITS = torch.tensor([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3], [-0.5, 1.5, 0.0], [1.0, 1.0, 3.0]])
LABELS = torch.tensor([0, 2, 1, 1])
ONE_HOT = F.one_hot(LABELS, 3).float()


def test_hard_labels_give_cross_entropy():
    assert SoftTargetLoss()(LOGITS, ONE_HOT).item() == pytest.approx(
        F.cross_entropy(LOGITS, LABELS).item()
    )


def test_label_smoothing_matches_torch():
    loss = SoftTargetLoss(label_smoothing=0.1)(LOGITS, ONE_HOT)
    assert loss.item() == pytest.approx(F.cross_entropy(LOGITS, LABELS, label_smoothing=0.1).item())


def test_class_weights_match_torchs_weighted_mean():
    w = torch.tensor([1.0, 3.0, 0.5])
    loss = SoftTargetLoss(class_weights=w)(LOGITS, ONE_HOT)
    assert loss.item() == pytest.approx(F.cross_entropy(LOGITS, LABELS, weight=w).item())


def test_focal_loss_by_hand():
    p = LOGITS.softmax(1)[torch.arange(4), LABELS]
    expected = (-((1 - p) ** 2) * p.log()).mean()
    assert SoftTargetLoss(gamma=2.0)(LOGITS, ONE_HOT).item() == pytest.approx(expected.item())


def test_soft_targets_and_row_weights_by_hand():
    soft = torch.tensor([[0.7, 0.3, 0.0], [0.0, 0.0, 1.0], [0.2, 0.2, 0.6], [0.5, 0.5, 0.0]])
    rows = torch.tensor([1.0, 0.5, 2.0, 0.0])
    per_row = -(soft * LOGITS.log_softmax(1)).sum(1)
    expected = (rows * per_row).sum() / 4  # weights scale rows, the mean stays over rows
    loss = SoftTargetLoss()(LOGITS, soft, rows)
    assert loss.item() == pytest.approx(expected.item())


def test_balanced_class_weights_are_sklearns():
    labels = np.array([0, 0, 0, 0, 1, 1, 2])
    w = class_weights_for(TrainConfig(class_weights="balanced"), labels, 3)
    np.testing.assert_allclose(
        w.numpy(), compute_class_weight("balanced", classes=np.arange(3), y=labels), rtol=1e-6
    )
    assert class_weights_for(TrainConfig(), labels, 3) is None
    given = class_weights_for(TrainConfig(class_weights=[1, 2, 3]), labels, 3)
    assert given.tolist() == [1.0, 2.0, 3.0]


def test_class_weights_of_the_wrong_length_name_the_key():
    with pytest.raises(ConfigError, match=r"train\.class_weights has 2 values for 3 classes"):
        class_weights_for(TrainConfig(class_weights=[1, 2]), np.array([0, 1, 2]), 3)


def test_build_loss_reads_the_config():
    loss = build_loss(
        TrainConfig(loss="focal", focal_gamma=1.5, label_smoothing=0.1), np.array([0, 1]), 2
    )
    assert (loss.gamma, loss.label_smoothing, loss.class_weights) == (1.5, 0.1, None)
    assert build_loss(TrainConfig(), np.array([0, 1]), 2).gamma == 0.0
