"""Metrics of segmentation masks: targets `y` and decisions `pred`, both boolean masks of shape
(N, H, W) (one class) or (N, C, H, W), scored per (image, class) pair or pooled.

    dice          mean Dice over every (image, class) pair: 2|y & p| / (|y| + |p|)
                  (Severstal, Understanding Clouds, SIIM, HuBMAP: "mean Dice")
    iou           mean IoU over every (image, class) pair: |y & p| / |y | p|
    global_dice   each class's Dice over all its pixels pooled, then the mean over classes
                  (scikit-learn's f1_score of the flattened masks, average "macro")
    global_iou    the same with IoU (scikit-learn's jaccard_score)

Kaggle's convention for an empty pair: where both the target and the prediction are empty the
pair scores 1 (a correct "nothing here"), where one of them is empty it scores 0. The pooled
variants score a class empty everywhere the same way. With one class the mean over pairs is
the mean over images; with several it is also the mean over classes of their per-image
means, since every class has the same images.

These metrics read decisions, not probabilities: `pred` must be 0/1 (a mask thresholded by
the task's decision); anything else is refused rather than silently thresholded. Images of
several sizes come as (N,) object arrays whose item i is image i's (C, H_i, W_i) mask
(`segmentation.masks.ragged`); each image is counted at its own size. `per_row`
of the pair means is each image's mean over its classes (a bootstrap resamples images).

`DICE_AT_HALF` is the one metric of probabilities: mean Dice of the maps decided at 0.5, what
a mask unit is validated on each epoch (`Segmentation.monitor`), before any decision is fitted.
"""

from __future__ import annotations

import numpy as np

from podium.metrics.base import Metric, registry


def _as_masks(a: np.ndarray, name: str) -> np.ndarray:
    a = np.asarray(a)
    if a.dtype == np.bool_:
        return a
    if a.size and not ((a == 0) | (a == 1)).all():
        raise ValueError(
            f"segmentation metrics score 0/1 masks; {name} holds values in "
            f"[{a.min():g}, {a.max():g}] (threshold probabilities with the task's decision first)"
        )
    decided: np.ndarray = a != 0
    return decided


def _ragged_pairs(y: np.ndarray, pred: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`_pairs` of images of several sizes: item i of each is image i's (C, H_i, W_i)."""
    if len(y) != len(pred):
        raise ValueError(f"masks of {len(y)} and {len(pred)} images")
    counts = [
        _pairs(np.asarray(a)[None], np.asarray(b)[None]) for a, b in zip(y, pred, strict=True)
    ]
    if not counts:
        return (np.zeros((0, 1), np.int64),) * 3
    return tuple(np.concatenate([c[k] for c in counts]) for k in range(3))  # type: ignore[return-value]


def _pairs(y: np.ndarray, pred: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per (image, class): |y & p|, |y| and |p|, each (N, C) int64."""
    if np.asarray(y).dtype == object or np.asarray(pred).dtype == object:
        return _ragged_pairs(y, pred)
    yb, pb = _as_masks(y, "y"), _as_masks(pred, "pred")
    if yb.shape != pb.shape:
        raise ValueError(f"masks of different shapes: y {yb.shape}, pred {pb.shape}")
    if yb.ndim == 3:
        yb, pb = yb[:, None], pb[:, None]
    if yb.ndim != 4:
        raise ValueError(f"masks are (N, H, W) or (N, C, H, W), got shape {yb.shape}")
    n, c = yb.shape[:2]
    yf, pf = yb.reshape(n, c, -1), pb.reshape(n, c, -1)
    inter = np.count_nonzero(yf & pf, axis=-1)
    return inter, np.count_nonzero(yf, axis=-1), np.count_nonzero(pf, axis=-1)


def dice_of_counts(inter: np.ndarray, y_sum: np.ndarray, p_sum: np.ndarray) -> np.ndarray:
    denom = y_sum + p_sum
    return np.where(denom == 0, 1.0, 2.0 * inter / np.maximum(denom, 1))


def iou_of_counts(inter: np.ndarray, y_sum: np.ndarray, p_sum: np.ndarray) -> np.ndarray:
    union = y_sum + p_sum - inter
    return np.where(union == 0, 1.0, inter / np.maximum(union, 1))


def pair_dice(y: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """The (N, C) Dice of every (image, class) pair; 1 where both masks are empty."""
    return dice_of_counts(*_pairs(y, pred))


def pair_iou(y: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """The (N, C) IoU of every (image, class) pair; 1 where both masks are empty."""
    return iou_of_counts(*_pairs(y, pred))


def image_dice(y: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Each image's mean Dice over its classes, (N,)."""
    return np.asarray(pair_dice(y, pred).mean(axis=1))


def image_iou(y: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Each image's mean IoU over its classes, (N,)."""
    return np.asarray(pair_iou(y, pred).mean(axis=1))


def mean_dice(y: np.ndarray, pred: np.ndarray) -> float:
    """Mean Dice over every (image, class) pair (Kaggle's "mean Dice coefficient")."""
    return float(pair_dice(y, pred).mean())


def mean_iou(y: np.ndarray, pred: np.ndarray) -> float:
    """Mean IoU over every (image, class) pair."""
    return float(pair_iou(y, pred).mean())


def global_dice(y: np.ndarray, pred: np.ndarray) -> float:
    """Each class's Dice with every image's pixels pooled, averaged over the classes."""
    inter, y_sum, p_sum = _pairs(y, pred)
    return float(dice_of_counts(inter.sum(0), y_sum.sum(0), p_sum.sum(0)).mean())


def global_iou(y: np.ndarray, pred: np.ndarray) -> float:
    """Each class's IoU with every image's pixels pooled, averaged over the classes."""
    inter, y_sum, p_sum = _pairs(y, pred)
    return float(iou_of_counts(inter.sum(0), y_sum.sum(0), p_sum.sum(0)).mean())


SEGMENTATION = registry(
    Metric("dice", mean_dice, True, "decisions", image_dice),
    Metric("iou", mean_iou, True, "decisions", image_iou),
    Metric("global_dice", global_dice, True, "decisions"),
    Metric("global_iou", global_iou, True, "decisions"),
)


def dice_at_half(y: np.ndarray, prob: np.ndarray) -> float:
    """Mean Dice of probability maps decided at threshold 0.5."""
    return mean_dice(np.asarray(y).astype(bool), np.asarray(prob) >= 0.5)


DICE_AT_HALF = Metric("dice@0.5", dice_at_half, True, "probabilities", None)
