"""Blend weights: fitted on the rows they are given, honest across folds."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from podium.config import CompetitionConfig
from podium.ensemble.blend import blend_cv
from podium.metrics.classification import CLASSIFICATION
from podium.tasks.blending import fit_simplex_weights
from podium.tasks.classification import Multiclass
from podium.tasks.probability import fit_logit_weights, logit_weighted

LOG_LOSS = CLASSIFICATION["log_loss"]
TASK = Multiclass(CompetitionConfig(name="toy"), Path("synthetic"), ["0", "1", "2", "3"])


def member(y: np.ndarray, strength: float, rng: np.random.Generator) -> np.ndarray:
    logits = rng.normal(size=(len(y), 4))
    logits[np.arange(len(y)), y] += strength
    e = np.exp(logits)
    return e / e.sum(axis=1, keepdims=True)


def test_blend_weights_favour_the_better_member_and_stay_on_the_simplex():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 2000)
    good, noise = member(y, 3.0, rng), member(rng.integers(0, 4, 2000), 3.0, rng)
    w = fit_simplex_weights([good, noise], y, LOG_LOSS)
    assert w.min() >= 0 and np.isclose(w.sum(), 1) and w[0] > 0.9


def test_logit_blend_sharpens_an_under_confident_member():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 4, 2000)
    soft = member(y, 3.0, rng) ** 0.3  # right most of the time, but timid
    soft /= soft.sum(axis=1, keepdims=True)
    w = fit_logit_weights([soft], y)
    assert w[0] > 1.5  # a temperature below one
    assert LOG_LOSS(y, logit_weighted([soft], w)) < LOG_LOSS(y, soft) - 0.1


def test_fold_k_is_blended_with_weights_fitted_without_it():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 4, 600)
    fold = np.repeat([0, 1, 2], 200)
    # member a is right only on fold 0, member b everywhere else: the weights fitted without
    # fold 0 prefer b, so fold 0 is blended badly; a leak would have fitted a for it
    a = np.where(
        (fold == 0)[:, None], member(y, 4.0, rng), member(rng.integers(0, 4, 600), 4.0, rng)
    )
    b = np.where(
        (fold == 0)[:, None], member(rng.integers(0, 4, 600), 4.0, rng), member(y, 4.0, rng)
    )
    oof, _, weights = blend_cv([a, b], [a[:5], b[:5]], y, fold, TASK.stacking.blends()["blend"])
    assert weights[0, 1] > 0.9
    assert (oof[fold == 0].argmax(1) == y[fold == 0]).mean() < 0.5
