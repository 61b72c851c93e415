"""The multitarget task's blends (`tasks.multitarget_stacking`): weights per target, each
fitted on its own class-weighted log-loss over its labelled rows, blocks renormalised; a
target with no labelled row keeps equal weights; no meta-model."""

from __future__ import annotations

import numpy as np
import pytest

from podium.ensemble.blend import blend_cv, shrink_weights
from podium.metrics.multitarget import Head, multitarget_log_loss
from podium.tasks.multitarget_stacking import TargetStacking

HEADS = [Head("a", 0, (1.0, 2.0), "a"), Head("b", 2, (1.0, 2.0, 4.0), "b")]


def member(y: np.ndarray, strengths: tuple[float, float], rng) -> np.ndarray:
    blocks = []
    for j, (width, s) in enumerate(zip((2, 3), strengths, strict=True)):
        lab = np.where(y[:, j] >= 0, y[:, j], 0)
        z = rng.normal(size=(len(y), width))
        z[np.arange(len(y)), lab] += s
        blocks.append(np.exp(z) / np.exp(z).sum(axis=1, keepdims=True))
    return np.concatenate(blocks, axis=1)


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    y = np.stack([rng.integers(0, 2, 300), rng.integers(0, 3, 300)], axis=1)
    y[::7, 1] = -1  # missing labels
    return y, [member(y, (3.0, 0.2), rng), member(y, (0.2, 3.0), rng)]


@pytest.mark.parametrize("name", ["blend", "logit_blend"])
def test_each_target_gets_its_own_weights_and_the_blend_beats_both_members(data, name):
    y, preds = data
    stacking = TargetStacking(HEADS)
    blend = stacking.blends()[name]
    w = blend.fit(preds, y)
    assert w.shape == (2, 2) and w[0, 0] > w[1, 0] and w[1, 1] > w[0, 1]
    out = blend.apply(preds, w)
    np.testing.assert_allclose(out[:, :2].sum(axis=1), 1)
    np.testing.assert_allclose(out[:, 2:].sum(axis=1), 1)
    loss = multitarget_log_loss(y, out, HEADS)
    assert loss < min(multitarget_log_loss(y, p, HEADS) for p in preds)
    # cross-validated on folds, shrunk towards equal: weights (K, M, T)
    fold = np.arange(len(y)) % 3
    oof, test, by_fold = blend_cv(preds, [p[:5] for p in preds], y, fold, blend, 0.5)
    assert by_fold.shape == (3, 2, 2) and oof.shape == preds[0].shape and test.shape == (5, 5)
    assert multitarget_log_loss(y, oof, HEADS) < min(
        multitarget_log_loss(y, p, HEADS) for p in preds
    )
    np.testing.assert_allclose(shrink_weights(w, 1.0), np.broadcast_to(w.mean(axis=0), w.shape))


def test_a_target_without_labelled_rows_keeps_equal_weights(data):
    y, preds = data
    y = y.copy()
    y[:, 1] = -1
    w = TargetStacking(HEADS).blends()["blend"].fit(preds, y)
    np.testing.assert_allclose(w[:, 1], 0.5)
    assert not TargetStacking(HEADS).has_meta_model
    assert TargetStacking(HEADS).correct(y, preds[0]) is None
