"""A series brought to a fixed number of slices (`data.slices.depth`), so that every study
is one (H, W, depth) array in the decode cache and batches stack, and, first when asked, to a
fixed physical slice spacing (`data.slices.spacing`).

Resampling is by slice index along the slice axis: a study of 48 slices and one of 16 both
span their whole extent in `depth` slices. Shrinking averages (OpenCV's area rule: every
input slice counts, none is skipped, so a finding in two or three slices is not lost);
growing interpolates linearly between neighbours. Without `spacing` the physical spacing is
not used: a series with a gap is warned about by `order`, not filled.

With `spacing` (`resample_spacing`), the slices, at their places along the normal (mm, from
`order`), are first resampled to places `spacing` apart from the first slice to the last,
each new slice the linear interpolation of the two slices around it (by their distances), so
a 1 mm and a 5 mm series see the same anatomy per slice; uneven gaps are filled by the same
rule and slices sharing a place are averaged. The depth resampling follows.
"""

from __future__ import annotations

import cv2
import numpy as np


def resample_depth(volume: np.ndarray, depth: int) -> np.ndarray:
    """(S, H, W) -> (depth, H, W) float32 (see the module docstring)."""
    n, h, w = volume.shape
    v = np.ascontiguousarray(volume, dtype=np.float32)
    if n == depth:
        return v
    interp = cv2.INTER_AREA if n > depth else cv2.INTER_LINEAR
    # cv2 resizes 2-D (rows, columns): slices as rows, each slice's pixels as one long row
    flat = cv2.resize(v.reshape(n, h * w), (h * w, depth), interpolation=interp)
    return np.asarray(flat, np.float32).reshape(depth, h, w)


def resample_spacing(volume: np.ndarray, places: np.ndarray, spacing: float) -> np.ndarray:
    """(S, ...) slices at ascending `places` (mm) -> (S', ...) float32 slices `spacing` mm
    apart from places[0] to places[-1] (see the module docstring)."""
    p = np.asarray(places, np.float64)
    v = np.asarray(volume, np.float32)
    if len(p) != len(v) or len(p) == 0:
        raise ValueError(f"{len(v)} slices but {len(p)} places")
    if (np.diff(p) < 0).any():
        raise ValueError("slice places must be ascending")
    unique = np.unique(p)
    if len(unique) < len(p):  # slices sharing a place: their mean
        group = np.searchsorted(unique, p)
        sums = np.zeros((len(unique), *v.shape[1:]), np.float64)
        np.add.at(sums, group, v)
        v = (sums / np.bincount(group).reshape(-1, *[1] * (v.ndim - 1))).astype(np.float32)
        p = unique
    if len(p) == 1:
        single: np.ndarray = v.copy()
        return single
    # a place within 1/1000 of a step of the last slice still counts (rounding in the headers)
    n = int(np.floor(float(p[-1] - p[0]) / spacing + 1e-3)) + 1
    targets = p[0] + spacing * np.arange(n)
    upper = np.clip(np.searchsorted(p, targets, side="right"), 1, len(p) - 1)
    lower = upper - 1
    t = np.clip((targets - p[lower]) / (p[upper] - p[lower]), 0.0, 1.0).astype(np.float32)
    t = t.reshape(-1, *[1] * (v.ndim - 1))
    out: np.ndarray = (1 - t) * v[lower] + t * v[upper]
    return out.astype(np.float32)
