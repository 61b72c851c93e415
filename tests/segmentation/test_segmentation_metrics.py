"""Dice and IoU of masks: hand cases (Kaggle's empty-pair convention included), the Severstal
mean over (image, class) pairs, and scikit-learn's f1_score / jaccard_score on the flattened
masks for the pooled variants and for each pair."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from podium.metrics.segmentation import (
    SEGMENTATION,
    global_dice,
    global_iou,
    image_dice,
    mean_dice,
    mean_iou,
    pair_dice,
    pair_iou,
)


def masks(*rows: list[list[int]]) -> np.ndarray:
    return np.array(rows, dtype=bool)


# image 0: y has 2 pixels, p has 2, they share 1 -> Dice 2*1/4 = 0.5, IoU 1/3
# image 1: both empty -> 1 and 1
# image 2: y has 1 pixel, p is empty -> 0 and 0
Y = masks([[1, 1], [0, 0]], [[0, 0], [0, 0]], [[0, 0], [0, 1]])
P = masks([[1, 0], [1, 0]], [[0, 0], [0, 0]], [[0, 0], [0, 0]])


def test_hand_cases_per_image():
    np.testing.assert_allclose(pair_dice(Y, P)[:, 0], [0.5, 1.0, 0.0])
    np.testing.assert_allclose(pair_iou(Y, P)[:, 0], [1 / 3, 1.0, 0.0])
    assert mean_dice(Y, P) == pytest.approx(1.5 / 3)
    assert mean_iou(Y, P) == pytest.approx((1 / 3 + 1) / 3)


def test_hand_cases_pooled():
    # pooled: |y & p| = 1, |y| = 3, |p| = 2 -> Dice 2/5, IoU 1/4
    assert global_dice(Y, P) == pytest.approx(0.4)
    assert global_iou(Y, P) == pytest.approx(0.25)


def test_empty_against_empty_scores_one_and_a_prediction_on_empty_scores_zero():
    empty = np.zeros((2, 3, 3), bool)
    some = empty.copy()
    some[:, 1, 1] = True
    for fn in (mean_dice, mean_iou, global_dice, global_iou):
        assert fn(empty, empty) == 1.0
        assert fn(empty, some) == 0.0 and fn(some, empty) == 0.0
        assert fn(some, some) == 1.0


def test_severstal_mean_over_image_class_pairs():
    # 2 images x 2 classes; pairs: (0,0) Dice 0.5, (0,1) both empty 1, (1,0) 0, (1,1) 1
    y = np.zeros((2, 2, 2, 2), bool)
    p = np.zeros_like(y)
    y[0, 0] = [[1, 1], [0, 0]]
    p[0, 0] = [[1, 0], [1, 0]]
    y[1, 0, 0, 0] = True
    y[1, 1] = p[1, 1] = [[0, 1], [1, 1]]
    np.testing.assert_allclose(pair_dice(y, p), [[0.5, 1.0], [0.0, 1.0]])
    assert mean_dice(y, p) == pytest.approx(2.5 / 4)
    np.testing.assert_allclose(image_dice(y, p), [0.75, 0.5])
    # the mean over classes of each class's mean over images is the same number
    assert pair_dice(y, p).mean(axis=0).mean() == pytest.approx(mean_dice(y, p))


def random_masks(rng: np.random.Generator, shape: tuple[int, ...]) -> tuple[np.ndarray, ...]:
    y = rng.random(shape) < 0.3
    p = (rng.random(shape) < 0.3) | (y & (rng.random(shape) < 0.6))
    y[0] = False  # an image empty in y, predicted; and one empty in both
    y[1] = p[1] = False
    return y, p


def test_pooled_single_class_matches_sklearn():
    y, p = random_masks(np.random.default_rng(0), (6, 9, 11))
    assert global_dice(y, p) == pytest.approx(skm.f1_score(y.ravel(), p.ravel()))
    assert global_iou(y, p) == pytest.approx(skm.jaccard_score(y.ravel(), p.ravel()))


def test_pooled_multiclass_matches_sklearn_macro():
    y, p = random_masks(np.random.default_rng(1), (5, 3, 8, 7))
    y[:, 2] = p[:, 2] = False  # a class empty everywhere: 1, as sklearn with zero_division=1
    flat_y = y.transpose(0, 2, 3, 1).reshape(-1, 3)
    flat_p = p.transpose(0, 2, 3, 1).reshape(-1, 3)
    f1 = skm.f1_score(flat_y, flat_p, average="macro", zero_division=1.0)
    jac = skm.jaccard_score(flat_y, flat_p, average="macro", zero_division=1.0)
    assert global_dice(y, p) == pytest.approx(f1)
    assert global_iou(y, p) == pytest.approx(jac)


def test_each_pair_matches_sklearn_with_zero_division_one():
    y, p = random_masks(np.random.default_rng(2), (4, 2, 6, 6))
    for i in range(4):
        for c in range(2):
            yi, pi = y[i, c].ravel(), p[i, c].ravel()
            assert pair_dice(y, p)[i, c] == pytest.approx(skm.f1_score(yi, pi, zero_division=1.0))
            assert pair_iou(y, p)[i, c] == pytest.approx(
                skm.jaccard_score(yi, pi, zero_division=1.0)
            )


def test_the_registry_scores_through_the_metric_record():
    y, p = random_masks(np.random.default_rng(3), (5, 2, 4, 4))
    dice = SEGMENTATION["dice"]
    assert dice.needs == "decisions" and dice.greater_is_better
    assert dice(y, p) == pytest.approx(mean_dice(y, p))  # pred goes through a float cast
    assert dice.per_row is not None
    assert dice.per_row(y, p).mean() == pytest.approx(dice(y, p))
    assert SEGMENTATION["iou"].per_row(y, p).mean() == pytest.approx(mean_iou(y, p))
    assert set(SEGMENTATION) == {"dice", "iou", "global_dice", "global_iou"}
    assert SEGMENTATION["global_iou"](y.astype(np.uint8), p) == pytest.approx(global_iou(y, p))


def test_probabilities_and_mismatched_shapes_are_refused():
    y = np.zeros((2, 3, 3), bool)
    with pytest.raises(ValueError, match="0/1 masks; pred holds values in \\[0, 0.7\\]"):
        mean_dice(y, np.full((2, 3, 3), 0.7) * (np.arange(3) > 0))
    with pytest.raises(ValueError, match="different shapes"):
        mean_dice(y, np.zeros((2, 3, 4), bool))
    with pytest.raises(ValueError, match="\\(N, H, W\\) or \\(N, C, H, W\\)"):
        mean_dice(np.zeros((3, 3), bool), np.zeros((3, 3), bool))
