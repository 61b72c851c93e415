"""The OOF scores of segmentation maps: the honest CV at the model's size, and, where the
train images are of other sizes, the same CV at each image's own size."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from podium.mask_scores import oof_scores
from podium.metrics.segmentation import SEGMENTATION
from podium.segmentation.masks import at_size
from podium.tasks.decisions.mask_area import MaskThreshold

DICE = SEGMENTATION["dice"]


def _task() -> SimpleNamespace:
    return SimpleNamespace(decision=MaskThreshold(DICE), metric=DICE)


def _native() -> np.ndarray:
    """Eight images alternately 16x16 and 8x24 (height x width), a block or nothing."""
    y = np.empty(8, dtype=object)
    for i in range(8):
        shape = (16, 16) if i % 2 == 0 else (8, 24)
        mask = np.zeros((1, *shape), bool)
        if i % 3:
            mask[0, : shape[0] // 2, : shape[1] // 2] = True
        y[i] = mask
    return y


def test_images_of_other_sizes_get_the_cv_at_their_own_size():
    y_native = _native()
    y = at_size(y_native, (8, 8)).astype(bool)
    prob = y.astype(np.float32) * 0.9 + 0.05  # sure maps of the right masks
    folds = np.arange(8) % 2
    scores, report = oof_scores(_task(), y_native, y, prob, folds)
    assert scores["cv"] == 1.0 and scores["in_sample"] == 1.0
    assert scores["cv_at_image_size"] > 0.95  # the blocks' edges resized bilinear
    assert report and set(scores["folds"]) == {"0", "1"}


def test_images_at_the_models_size_have_no_second_cv():
    y = at_size(_native(), (8, 8)).astype(bool)
    prob = y.astype(np.float32)
    scores, _ = oof_scores(_task(), y, y, prob, np.arange(8) % 2)
    assert "cv_at_image_size" not in scores and scores["cv"] == 1.0
