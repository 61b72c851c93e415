"""The weighted multi-target log-loss against a hand-computed example, scikit-learn's
sample-weighted log-loss per target, missing labels, groups and a fold without a target."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import log_loss

from podium.metrics.multitarget import Head, group_losses, multitarget_log_loss

# target a: binary, weights [1, 2]; target b: 3 classes, weights [1, 2, 4]
HEADS = [Head("a", 0, (1.0, 2.0), "a"), Head("b", 2, (1.0, 2.0, 4.0), "b")]
Y = np.array([[0, 2], [1, -1], [1, 0]])  # row 1's b is missing
PRED = np.array(
    [
        [0.8, 0.2, 0.2, 0.3, 0.5],
        [0.4, 0.6, 0.9, 0.05, 0.05],  # b ignored: no label
        [0.5, 0.5, 0.6, 0.2, 0.2],
    ]
)


def test_a_hand_computed_example():
    a = (1 * -math.log(0.8) + 2 * -math.log(0.6) + 2 * -math.log(0.5)) / (1 + 2 + 2)
    b = (4 * -math.log(0.5) + 1 * -math.log(0.6)) / (4 + 1)
    assert a == pytest.approx(0.526218, abs=1e-6) and b == pytest.approx(0.656683, abs=1e-6)
    assert multitarget_log_loss(Y, PRED, HEADS) == pytest.approx((a + b) / 2, abs=1e-12)
    unweighted = (-math.log(0.8) - math.log(0.6) - math.log(0.5)) / 3
    unweighted_b = (-math.log(0.5) - math.log(0.6)) / 2
    assert multitarget_log_loss(Y, PRED, HEADS, weighted=False) == pytest.approx(
        (unweighted + unweighted_b) / 2
    )


def test_each_term_is_sklearns_sample_weighted_log_loss():
    rng = np.random.default_rng(0)
    n = 50
    y = np.stack([rng.integers(0, 2, n), rng.integers(0, 3, n)], axis=1)
    pa, pb = rng.dirichlet([1, 1], n), rng.dirichlet([1, 1, 1], n)
    pred = np.hstack([pa, pb])
    losses = group_losses(y, pred, HEADS)
    w = np.array([1.0, 2.0])[y[:, 0]]
    assert losses["a"] == pytest.approx(log_loss(y[:, 0], pa, sample_weight=w, labels=[0, 1]))
    w = np.array([1.0, 2.0, 4.0])[y[:, 1]]
    assert losses["b"] == pytest.approx(log_loss(y[:, 1], pb, sample_weight=w, labels=[0, 1, 2]))


def test_grouped_targets_are_pooled_into_one_term():
    pooled = [Head("a", 0, (1.0, 2.0), "g"), Head("b", 2, (1.0, 2.0, 4.0), "g")]
    sums = (
        1 * -math.log(0.8) + 2 * -math.log(0.6) + 2 * -math.log(0.5),
        4 * -math.log(0.5) + 1 * -math.log(0.6),
    )
    expected = sum(sums) / (5 + 5)
    assert group_losses(Y, PRED, pooled) == {"g": pytest.approx(expected)}


def test_a_target_without_labels_in_the_rows_is_left_out():
    rows = np.array([1])  # b is missing in this row: the score is a's alone
    assert multitarget_log_loss(Y[rows], PRED[rows], HEADS) == pytest.approx(-math.log(0.6))
    assert math.isnan(multitarget_log_loss(np.full((2, 2), -1), PRED[:2], HEADS))


def test_blocks_are_renormalised_and_clipped():
    pred = PRED.copy()
    pred[:, :2] *= 3  # not summing to one: divided by the sum
    assert multitarget_log_loss(Y, pred, HEADS) == pytest.approx(
        multitarget_log_loss(Y, PRED, HEADS)
    )
    zero = PRED.copy()
    zero[0, :2] = [0.0, 1.0]  # the true class at 0: clipped, finite
    assert np.isfinite(multitarget_log_loss(Y, zero, HEADS))
