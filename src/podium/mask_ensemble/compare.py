"""Is the mask ensemble's gain over the best member real? A paired comparison on the same
images: each image's Dice (both candidates' maps decided CV-honestly, fold k by the
post-processing fitted on the other folds) and each image's pixel log-loss, the differences
resampled by image (a paired bootstrap of the mean difference), as `podium.ensemble.significance`
reports it for rows: the gain is "within noise" when its 95% interval holds 0.

Per-image terms make the bootstrap a resample of two (N,) vectors, so it costs milliseconds
however large the maps are (rescoring the pixel log-loss of every resample would not). With
`competition.group_column` (a patient's images), groups are resampled with all their images,
as the row ensemble does (`significance.bootstrap_means`).
"""

from __future__ import annotations

import numpy as np

from podium.ensemble.significance import Gain, PairedComparison, bootstrap_means
from podium.metrics.segmentation import pair_dice, pair_iou
from podium.scoring import decided_oof
from podium.tasks import Task

N_BOOT = 2000


def image_log_loss(y: np.ndarray, prob: np.ndarray) -> np.ndarray:
    """(N,) each image's mean pixel log-loss (the task's validation loss, per image)."""
    p = np.clip(np.asarray(prob, np.float64), 1e-7, 1 - 1e-7)
    t = np.asarray(y, np.float64)
    return np.asarray(-(t * np.log(p) + (1 - t) * np.log(1 - p)).reshape(len(y), -1).mean(1))


def paired_gain(
    diff: np.ndarray, groups: np.ndarray | None = None, n_boot: int = N_BOOT, seed: int = 0
) -> Gain:
    """The mean of per-image gains `diff` and its 95% paired bootstrap interval (images, or
    groups of images, drawn with replacement)."""
    means = bootstrap_means(np.asarray(diff, np.float64), n_boot, groups, seed)
    low, high = np.percentile(means, [2.5, 97.5])
    return Gain(float(diff.mean()), float(low), float(high))


def per_image(task: Task, y: np.ndarray, decided: np.ndarray) -> np.ndarray:
    """(N,) the metric's per-image terms where it is a mean of them (dice, iou)."""
    fn = {"dice": pair_dice, "iou": pair_iou}.get(task.metric.name)
    if fn is None:  # pooled metrics have no per-image term
        raise ValueError(f"{task.metric.name} is not a mean over images")
    return np.asarray(fn(y, decided).mean(axis=1))


def compare_maps(
    task: Task,
    y: np.ndarray,
    fold: np.ndarray,
    challenger: np.ndarray,
    reference: np.ndarray,
    groups: np.ndarray | None = None,
) -> PairedComparison:
    """Challenger vs reference maps on the same images: the metric's gain (per-image terms
    of the CV-honestly decided masks, where the metric is a mean over images) and the pixel
    log-loss gain (positive: the challenger's loss is lower)."""
    gains: dict[str, Gain] = {}
    if task.metric.per_row is not None:
        a = per_image(task, y, decided_oof(task, y, challenger, fold))
        b = per_image(task, y, decided_oof(task, y, reference, fold))
        gains[task.metric.name] = paired_gain(a - b, groups)
    loss = image_log_loss(y, reference) - image_log_loss(y, challenger)
    gains[task.valid_loss.name] = paired_gain(loss, groups)
    n_groups = None if groups is None else len(np.unique(groups))
    return PairedComparison(None, None, None, gains, n_groups)
