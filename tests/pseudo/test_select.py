"""Which rows become pseudo-labels: threshold, top fraction per class, caps and balance; hard
or soft targets and loss weights; and the soft-label loss the student trains with."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from podium.config import CompetitionConfig
from podium.config.pseudo import PseudoConfig
from podium.pseudo.select import pseudo_weights, select_rows
from podium.tasks.classification import Multiclass
from podium.tasks.losses import SoftTargetLoss

TASK = Multiclass(CompetitionConfig(name="toy"), Path("synthetic"), ["a", "b", "c"])


def section(**kw) -> PseudoConfig:
    return PseudoConfig(teacher="t.yaml", **{"threshold": None, **kw})


def select(p: np.ndarray, sec: PseudoConfig) -> np.ndarray:
    """The rows the task's candidates of teacher predictions `p` make pseudo-labels."""
    return select_rows(TASK.pseudo.candidates(p), sec)


def confidence(p: np.ndarray) -> np.ndarray:
    return TASK.pseudo.candidates(p).confidence


def pseudo_targets(p: np.ndarray, soft: bool) -> np.ndarray:
    return TASK.pseudo.targets(p, soft)


def proba_of(pred: list[int], conf: list[float], c: int = 3) -> np.ndarray:
    """Rows predicting `pred` with top probability `conf`, the rest spread evenly."""
    p = np.repeat(((1 - np.asarray(conf)) / (c - 1))[:, None], c, axis=1)
    p[np.arange(len(pred)), pred] = conf
    return p


def test_threshold_keeps_only_confident_rows():
    p = proba_of([0, 0, 1, 2, 2], [0.95, 0.6, 0.9, 0.89, 0.99])
    assert select(p, section(threshold=0.9)).tolist() == [0, 2, 4]
    assert select(p, section()).tolist() == [0, 1, 2, 3, 4]  # no criterion: every row


def test_top_fraction_is_per_predicted_class_most_confident_first():
    # class 0: 4 rows, class 1: 2 rows -> top half keeps 2 of class 0 and 1 of class 1
    p = proba_of([0, 0, 0, 0, 1, 1], [0.5, 0.9, 0.7, 0.8, 0.6, 0.99])
    assert select(p, section(top_fraction=0.5)).tolist() == [1, 3, 5]
    # with a threshold too, a row must pass both
    assert select(p, section(top_fraction=0.5, threshold=0.85)).tolist() == [1, 5]


def test_caps_keep_the_most_confident_rows_of_each_class():
    p = proba_of([0, 0, 0, 1, 1, 2], [0.7, 0.9, 0.8, 0.6, 0.95, 0.5])
    chosen = select(p, section(max_per_class=2))
    assert chosen.tolist() == [1, 2, 3, 4, 5]
    counts = np.bincount(p[chosen].argmax(1), minlength=3)
    assert counts.max() <= 2
    # balance: every class capped at the smallest class's count (class 2 has one row)
    chosen = select(p, section(balance=True))
    assert chosen.tolist() == [1, 4, 5]
    assert np.bincount(p[chosen].argmax(1), minlength=3).tolist() == [1, 1, 1]


def test_balance_counts_classes_after_the_threshold():
    p = proba_of([0, 0, 0, 1, 1, 2], [0.99, 0.98, 0.97, 0.99, 0.5, 0.5])
    # after the threshold class 2 has no rows: a balanced selection is empty, not tilted
    assert select(p, section(threshold=0.9, balance=True)).tolist() == []
    p = proba_of([0, 0, 0, 1, 1, 2], [0.99, 0.98, 0.97, 0.99, 0.5, 0.95])
    assert select(p, section(threshold=0.9, balance=True)).tolist() == [0, 3, 5]


def test_hard_and_soft_targets_and_weights():
    p = proba_of([2, 0], [0.8, 0.6])
    np.testing.assert_array_equal(pseudo_targets(p, soft=False), [[0, 0, 1], [1, 0, 0]])
    soft = pseudo_targets(p, soft=True)
    assert soft.dtype == np.float32
    np.testing.assert_allclose(soft, p, rtol=1e-6)
    np.testing.assert_allclose(pseudo_weights(confidence(p), section(weight=0.5)), [0.5, 0.5])
    np.testing.assert_allclose(
        pseudo_weights(confidence(p), section(weight=0.5, confidence_weighting=True)),
        [0.4, 0.3],
        rtol=1e-6,
    )


def test_soft_label_loss_matches_a_hand_computation():
    """A batch of two labelled rows (weight 1) and two soft pseudo rows (weight 0.5): the
    engine's loss is the weighted cross-entropy against the teacher's distribution, averaged
    over the batch."""
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.0, 1.0, 0.0], [0.5, 0.5, 2.0], [1.0, -1.0, 0.0]])
    teacher = proba_of([2, 0], [0.7, 0.6])
    targets = np.concatenate([np.eye(3, dtype=np.float32)[[0, 1]], pseudo_targets(teacher, True)])
    weights = np.concatenate([[1.0, 1.0], pseudo_weights(confidence(teacher), section(weight=0.5))])
    loss = SoftTargetLoss()(
        logits, torch.tensor(targets), torch.tensor(weights, dtype=torch.float32)
    )

    def log_softmax(z):
        z = np.asarray(z, np.float64)
        return z - np.log(np.exp(z).sum())

    rows = logits.numpy()
    by_hand = [
        -log_softmax(rows[0])[0],
        -log_softmax(rows[1])[1],
        -(
            0.15 * log_softmax(rows[2])[0]
            + 0.15 * log_softmax(rows[2])[1]
            + 0.7 * log_softmax(rows[2])[2]
        ),
        -(
            0.6 * log_softmax(rows[3])[0]
            + 0.2 * log_softmax(rows[3])[1]
            + 0.2 * log_softmax(rows[3])[2]
        ),
    ]
    expected = (by_hand[0] + by_hand[1] + 0.5 * by_hand[2] + 0.5 * by_hand[3]) / 4
    assert loss.item() == pytest.approx(expected, rel=1e-5)
