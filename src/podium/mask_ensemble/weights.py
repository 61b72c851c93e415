"""The blend of members' probability maps: a weighted mean whose simplex weights maximise the
mask metric the decision fits (mean Dice by default) of the blend at its best threshold,
fitted on the other folds' OOF maps (`podium.cross_fit`), so fold k's blend never saw fold
k's labels.

The search is cheap by design: the maps and masks are shrunk to at most `SEARCH_SIDE` px a
side (area-averaged; a mask is kept where at least half the shrunk pixel was foreground), and
the objective is the metric at the best threshold of the decision's grid, without the
minimum-area step (the full post-processing, threshold and minimum area, is refitted on the
blend afterwards by the task's decision, as for any candidate). Weights move by coordinate
search on the simplex: member i's weight takes each value of a 0.1 grid with the others
rescaled to fill the rest; rounds repeat while a move improves. With two members that is an
exact grid search; equal weights win ties (the search starts there and only moves on a gain).
"""

from __future__ import annotations

import cv2
import numpy as np

from podium.cross_fit import cross_fit
from podium.metrics.segmentation import dice_of_counts, iou_of_counts
from podium.tasks.decisions.mask_area import THRESHOLDS

SEARCH_SIDE = 32  # the longest side of the maps the weights are searched on
GRID = np.round(np.linspace(0.0, 1.0, 11), 2)
ROUNDS = 3


def shrink(maps: np.ndarray, side: int = SEARCH_SIDE) -> np.ndarray:
    """(N, C, H, W) float maps area-averaged to at most `side` px a side (as they are if
    already small)."""
    n, c, h, w = maps.shape
    scale = side / max(h, w)
    if scale >= 1:
        return np.asarray(maps, np.float32)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    flat = np.asarray(maps, np.float32).reshape(n * c, h, w)
    small = np.stack([cv2.resize(m, size, interpolation=cv2.INTER_AREA) for m in flat])
    return small.reshape(n, c, size[1], size[0])


def best_threshold_score(y: np.ndarray, prob: np.ndarray, metric: str = "dice") -> float:
    """The mask metric of `prob >= t` at the best t of the decision's threshold grid: mean
    Dice or IoU over (image, class) pairs (two empty masks score 1), or their pooled
    `global_` forms; what the decision fits (`MaskThreshold.fitted_on`)."""
    n, c = y.shape[:2]
    yf, pf = y.reshape(n, c, -1), prob.reshape(n, c, -1)
    y_sum = yf.sum(-1)
    score = iou_of_counts if metric.endswith("iou") else dice_of_counts
    pooled = metric.startswith("global_")
    best = 0.0
    for t in THRESHOLDS:
        p = pf >= t
        inter, p_sum = (p & yf).sum(-1), p.sum(-1)
        if pooled:
            value = float(score(inter.sum(0), y_sum.sum(0), p_sum.sum(0)).mean())
        else:
            value = float(score(inter, y_sum, p_sum).mean())
        best = max(best, value)
    return best


def blend(maps: list[np.ndarray], weights: np.ndarray) -> np.ndarray:
    """The weighted mean of members' maps (weights sum to 1)."""
    out = np.zeros_like(maps[0], dtype=np.float32)
    for m, w in zip(maps, weights, strict=True):
        if w:
            out += np.float32(w) * m
    return out


def _moved(w: np.ndarray, i: int, value: float) -> np.ndarray:
    """`w` with member i at `value` and the others rescaled to fill 1 - value."""
    rest = w.copy()
    rest[i] = 0.0
    total = rest.sum()
    rest = rest / total if total > 0 else np.where(np.arange(len(w)) == i, 0.0, 1.0 / (len(w) - 1))
    out = rest * (1.0 - value)
    out[i] = value
    return out


def fit_weights(maps: list[np.ndarray], y: np.ndarray, metric: str = "dice") -> np.ndarray:
    """Simplex weights (M,) of the members' (shrunk) maps that maximise
    `best_threshold_score` on these rows; see the module docstring."""
    m = len(maps)
    w = np.full(m, 1.0 / m)
    if m == 1:
        return w
    best = best_threshold_score(y, blend(maps, w), metric)
    for _ in range(ROUNDS):
        improved = False
        for i in range(m):
            for value in GRID:
                cand = _moved(w, i, float(value))
                score = best_threshold_score(y, blend(maps, cand), metric)
                if score > best + 1e-9:
                    best, w, improved = score, cand, True
        if not improved:
            break
    return w


class MapBlender:
    """The members' maps with their shrunk copies (made once) and the shrunk targets."""

    def __init__(self, oofs: list[np.ndarray], y: np.ndarray, metric: str = "dice") -> None:
        self.oofs, self.metric = oofs, metric
        self.small = [shrink(m) for m in oofs]
        self.y_small = shrink(y.astype(np.float32)) >= 0.5

    def fit(self, rows: np.ndarray) -> np.ndarray:
        return fit_weights([s[rows] for s in self.small], self.y_small[rows], self.metric)

    def cross_fit(
        self, fold: np.ndarray, rows: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(blend OOF of `rows`, (K, M) weights): each fold of `rows` blended with weights
        fitted on the other folds of `rows` (every row when None)."""
        idx = np.arange(len(fold)) if rows is None else np.flatnonzero(rows)
        sub = fold[idx]

        def fit(inner: np.ndarray) -> np.ndarray:
            return self.fit(idx[inner])

        def apply(w: np.ndarray, inner: np.ndarray) -> np.ndarray:
            return blend([m[idx[inner]] for m in self.oofs], w)

        out = np.zeros((len(idx), *self.oofs[0].shape[1:]), np.float32)
        fitted = cross_fit(sub, fit=fit, apply=apply, out=out)
        return fitted.oof, np.stack(fitted.params)
