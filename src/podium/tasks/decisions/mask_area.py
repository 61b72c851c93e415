"""A segmentation mask's post-processing as a Decision: a probability threshold and a
minimum connected-component area, fitted on OOF probability maps to maximise the
competition's mask metric (mean or global Dice or IoU; a plug-in metric is fitted on mean
Dice, and the report says so), CV-honestly through `Decision.fit_cv` (fold k decided with
the parameters fitted on the other folds).

`apply(prob, [threshold, min_area])`: pixels at or above `threshold` are foreground, then
every 8-connected component of fewer than `min_area` pixels is removed (a mask left with
only such specks becomes empty: the "nothing here" answer the empty-empty=1 convention
rewards). Arrays are (N, C, H, W): probabilities in, bool masks out; `min_area` is in
pixels of the arrays' size.

The fit is a grid search: for each threshold, every image's components are labelled once
(OpenCV) with their areas and their overlap with the target, so each minimum area of the
grid is a sum over the components kept, not a new labelling. `grid` returns that whole
surface (every pair's overlap counts at every grid point, `MaskGrid`), which the OOF notebook
draws.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from podium.errors import ArtifactError
from podium.metrics import DecisionSummary, Metric
from podium.metrics.segmentation import dice_of_counts, iou_of_counts
from podium.tasks.decisions.base import Decision

THRESHOLDS = tuple(np.round(np.arange(0.2, 0.81, 0.05), 2).tolist())
AREA_SHARES = (0.0, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.04)  # of the image's pixels
# the built-in mask metrics the grid scores from its counts; any other is fitted on "dice"
GRID_METRICS = ("dice", "iou", "global_dice", "global_iou")


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
    """The post-processing's search grid: at `thresholds[t]` and `min_areas[a]` (pixels of
    the maps' size), image i's class c predicted mask has `p_sum[t, a, i, c]` pixels, of
    which `inter[t, a, i, c]` are in its target of `y_sum[i, c]` pixels; `metric` (one of
    GRID_METRICS) is what `mean` scores."""

    thresholds: np.ndarray  # (T,)
    min_areas: np.ndarray  # (A,)
    inter: np.ndarray  # (T, A, N, C)
    p_sum: np.ndarray  # (T, A, N, C)
    y_sum: np.ndarray  # (N, C)
    metric: str = "dice"

    @property
    def dice(self) -> np.ndarray:
        """(T, A, N, C): every pair's Dice at every grid point (1 where both are empty)."""
        return dice_of_counts(self.inter, self.y_sum, self.p_sum)

    def mean(self, rows: np.ndarray | None = None) -> np.ndarray:
        """(T, A): `metric` over the pairs of `rows` (a mask or indices; every row if None):
        the mean of the pairs' Dice or IoU, or the class mean of the pooled one."""
        pick = slice(None) if rows is None else rows
        inter, p_sum, y_sum = self.inter[:, :, pick], self.p_sum[:, :, pick], self.y_sum[pick]
        score = iou_of_counts if self.metric.endswith("iou") else dice_of_counts
        if self.metric.startswith("global_"):  # pixels pooled over images, per class
            return np.asarray(score(inter.sum(2), y_sum.sum(0), p_sum.sum(2)).mean(-1))
        pairs = score(inter, y_sum, p_sum)
        return np.asarray(pairs.reshape(*pairs.shape[:2], -1).mean(-1))


class MaskThreshold(Decision):
    """Threshold + minimum component area of (N, C, H, W) probability maps."""

    kind = "mask_threshold"

    def __init__(self, metric: Metric) -> None:
        self.metric = metric
        # what the grid maximises: the metric itself where the grid can count it
        self.fitted_on = metric.name if metric.name in GRID_METRICS else "dice"

    def grid(self, y: np.ndarray, pred: np.ndarray) -> MaskGrid:
        """The overlap counts of every (image, class) pair at every (threshold, minimum
        area) of the search grid: the surface `fit` maximises (the OOF notebook draws it)."""
        n, c = pred.shape[:2]
        areas_grid = self.grid_areas(pred)
        inter = np.zeros((len(THRESHOLDS), len(areas_grid), n, c), dtype=np.int64)
        p_sum = np.zeros_like(inter)
        y_sum = np.zeros((n, c), dtype=np.int64)
        for a, t in enumerate(THRESHOLDS):
            for i in range(n):
                for k in range(c):
                    target = y[i, k].astype(bool)
                    areas, hits = _components(pred[i, k] >= t, target)
                    kept = areas[None, :] >= np.maximum(areas_grid[:, None], 1)
                    p_sum[a, :, i, k] = (kept * areas).sum(1)
                    inter[a, :, i, k] = (kept * hits).sum(1)
                    y_sum[i, k] = np.count_nonzero(target)
        return MaskGrid(np.array(THRESHOLDS), areas_grid, inter, p_sum, y_sum, self.fitted_on)

    def fit(self, y: np.ndarray, pred: np.ndarray) -> np.ndarray:
        grid = self.grid(y, pred)
        surface = grid.mean()  # (T, A)
        best: tuple[float, float, float] | None = None
        for a, t in enumerate(grid.thresholds):
            j = int(np.argmax(surface[a]))  # the smallest area among ties
            if best is None or surface[a, j] > best[0] + 1e-12:
                best = (float(surface[a, j]), float(t), float(grid.min_areas[j]))
        assert best is not None
        return np.array([best[1], best[2]])

    @staticmethod
    def grid_areas(pred: np.ndarray) -> np.ndarray:
        """The minimum areas the grid tries, in pixels of `pred`'s (N, C, H, W) maps."""
        h, w = pred.shape[-2:]
        return np.array([share * h * w for share in AREA_SHARES])

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
        return {
            "params_are": ["threshold", "min_area_pixels"],
            "metric": self.metric.name,
            "fitted_on": self.fitted_on,
        }

    def report(self, summary: DecisionSummary) -> list[str]:
        t, area = summary.params
        on = "" if self.fitted_on == self.metric.name else f", chosen on mean {self.fitted_on}"
        return [
            f"post-processing: threshold {t:.2f}, components under {area:.0f} px removed "
            f"(fitted on every OOF row{on}); {self.metric.name} CV {summary.cv_score:.4f} "
            f"honest (fold k decided by the other folds' fit), {summary.fit_score:.4f} in-sample"
        ]

    def check_params(self, summary: DecisionSummary, source: str) -> None:
        if len(summary.params) != 2:
            raise ArtifactError(
                f"{source}: a mask post-processing has 2 parameters, got {summary.params}"
            )
