"""A segmentation mask's post-processing as a Decision: a probability threshold and a
minimum connected-component area, fitted on OOF probability maps to maximise the mask
metric (mean Dice), CV-honestly through `Decision.fit_cv` (fold k decided with the
parameters fitted on the other folds).

`apply(prob, [threshold, min_area])`: pixels at or above `threshold` are foreground, then
every 8-connected component of fewer than `min_area` pixels is removed (a mask left with
only such specks becomes empty: the "nothing here" answer the empty-empty=1 convention
rewards). Arrays are (N, C, H, W): probabilities in, bool masks out; `min_area` is in
pixels of the arrays' size.

The fit is a grid search: for each threshold, every image's components are labelled once
(OpenCV) with their areas and their overlap with the target, so each minimum area of the
grid is a sum over the components kept, not a new labelling. `grid` returns that whole
surface (every pair's Dice at every grid point, `MaskGrid`), which the OOF notebook draws.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from podium.errors import ArtifactError
from podium.metrics import DecisionSummary, Metric
from podium.tasks.decisions.base import Decision

THRESHOLDS = tuple(np.round(np.arange(0.2, 0.81, 0.05), 2).tolist())
AREA_SHARES = (0.0, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.04)  # of the image's pixels


def _components(mask: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Areas and overlaps with `target` of the 8-connected components of one (H, W) mask."""
    count, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    areas = np.bincount(labels.ravel(), minlength=count)[1:]
    hits = np.bincount(labels[target], minlength=count)[1:]
    return areas, hits


def remove_small(mask: np.ndarray, min_area: float) -> np.ndarray:
    """One (H, W) bool mask without its components of fewer than `min_area` pixels."""
    if min_area <= 1 or not mask.any():
        return mask
    count, labels, stats, _ = cv2.connectedComponentsWithStats(
        mask.astype(np.uint8), connectivity=8
    )
    keep = stats[:, cv2.CC_STAT_AREA] >= min_area
    keep[0] = False  # the background label
    kept: np.ndarray = keep[labels]
    return kept


@dataclass(frozen=True)
class MaskGrid:
    """The post-processing's search grid scored: `dice[t, a, i, c]` is image i's class c
    Dice at `thresholds[t]` and `min_areas[a]` (pixels of the maps' size)."""

    thresholds: np.ndarray  # (T,)
    min_areas: np.ndarray  # (A,)
    dice: np.ndarray  # (T, A, N, C)

    def mean(self, rows: np.ndarray | None = None) -> np.ndarray:
        """(T, A) mean Dice over the pairs of `rows` (a mask or indices; every row if None)."""
        dice = self.dice if rows is None else self.dice[:, :, rows]
        return np.asarray(dice.reshape(*dice.shape[:2], -1).mean(-1))


class MaskThreshold(Decision):
    """Threshold + minimum component area of (N, C, H, W) probability maps."""

    kind = "mask_threshold"

    def __init__(self, metric: Metric) -> None:
        self.metric = metric

    def grid(self, y: np.ndarray, pred: np.ndarray) -> MaskGrid:
        """The Dice of every (image, class) pair at every (threshold, minimum area) of the
        search grid: the surface `fit` maximises (the OOF notebook draws its curves)."""
        n, c, h, w = pred.shape
        areas_grid = np.array([share * h * w for share in AREA_SHARES])
        dice = np.zeros((len(THRESHOLDS), len(areas_grid), n, c))
        for a, t in enumerate(THRESHOLDS):
            for i in range(n):
                for k in range(c):
                    mask = pred[i, k] >= t
                    target = y[i, k].astype(bool)
                    areas, hits = _components(mask, target)
                    kept = areas[None, :] >= np.maximum(areas_grid[:, None], 1)
                    p_sum, inter = (kept * areas).sum(1), (kept * hits).sum(1)
                    y_sum = target.sum()
                    denom = p_sum + y_sum
                    dice[a, :, i, k] = np.where(denom == 0, 1.0, 2 * inter / np.maximum(denom, 1))
        return MaskGrid(np.array(THRESHOLDS), areas_grid, dice)

    def fit(self, y: np.ndarray, pred: np.ndarray) -> np.ndarray:
        surface = self.grid(y, pred)
        best: tuple[float, float, float] | None = None
        for a, t in enumerate(surface.thresholds):
            means = surface.dice[a].reshape(len(surface.min_areas), -1).mean(1)
            j = int(np.argmax(means))  # the smallest area among ties
            if best is None or means[j] > best[0] + 1e-12:
                best = (float(means[j]), float(t), float(surface.min_areas[j]))
        assert best is not None
        return np.array([best[1], best[2]])

    def apply(self, pred: np.ndarray, params: np.ndarray) -> np.ndarray:
        threshold, min_area = float(params[0]), float(params[1])
        out = pred >= threshold
        if min_area > 1:
            for i in range(out.shape[0]):
                for k in range(out.shape[1]):
                    out[i, k] = remove_small(out[i, k], min_area)
        return out

    def score(self, y: np.ndarray, decided: np.ndarray) -> float:
        return float(self.metric.fn(y, decided))

    def details(self) -> dict[str, Any]:
        return {"params_are": ["threshold", "min_area_pixels"], "metric": self.metric.name}

    def report(self, summary: DecisionSummary) -> list[str]:
        t, area = summary.params
        return [
            f"post-processing: threshold {t:.2f}, components under {area:.0f} px removed "
            f"(fitted on every OOF row); {self.metric.name} CV {summary.cv_score:.4f} honest "
            f"(fold k decided by the other folds' fit), {summary.fit_score:.4f} in-sample"
        ]

    def check_params(self, summary: DecisionSummary, source: str) -> None:
        if len(summary.params) != 2:
            raise ArtifactError(
                f"{source}: a mask post-processing has 2 parameters, got {summary.params}"
            )
