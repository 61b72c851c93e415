"""A series brought to a fixed number of slices (`data.slices.depth`), so that every study
is one (H, W, depth) array in the decode cache and batches stack.

Resampling is by slice index along the slice axis: a study of 48 slices and one of 16 both
span their whole extent in `depth` slices. Shrinking averages (OpenCV's area rule: every
input slice counts, none is skipped, so a finding in two or three slices is not lost);
growing interpolates linearly between neighbours. The physical spacing is not used: a series
with a gap is warned about by `order`, not filled.
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
