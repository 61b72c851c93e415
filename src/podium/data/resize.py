"""Bring an image of any size to the cache's (h, w): the `data.resize` policy.

Why a policy: photos come in every aspect ratio. `squash` stretches to (h, w) (podium's
original behaviour; fine when every image shares one aspect ratio); `pad` letterboxes, keeping
the aspect ratio and filling the border with `pad_value`; `center_crop` cuts the centre to the
target aspect ratio, then resizes (keeps the aspect ratio, loses the edges).
"""

from __future__ import annotations

import cv2
import numpy as np

POLICIES = ("squash", "pad", "center_crop")


def _resize(img: np.ndarray, h: int, w: int) -> np.ndarray:
    """cv2.resize on (H, W, C) for any C; area when shrinking (no aliasing), linear otherwise."""
    if img.shape[:2] == (h, w):
        return img
    shrink = img.shape[0] > h or img.shape[1] > w
    return resize_channels(img, h, w, cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def resize_channels(img: np.ndarray, h: int, w: int, interp: int) -> np.ndarray:
    """cv2.resize of (H, W, C) to (h, w, C) for any C, with `interp`."""
    # cv2 drops a single channel's axis and resizes at most 4 channels at a time
    parts = [
        cv2.resize(np.ascontiguousarray(img[..., i : i + 4]), (w, h), interpolation=interp)
        for i in range(0, img.shape[2], 4)
    ]
    return np.concatenate([p if p.ndim == 3 else p[..., None] for p in parts], axis=2)


def fit_to_size(
    img: np.ndarray, size: tuple[int, int], policy: str = "squash", pad_value: int = 0
) -> np.ndarray:
    """(H, W, C) -> (h, w, C) by `policy` (see the module docstring)."""
    h, w = size
    ih, iw = img.shape[:2]
    if policy == "squash" or (ih, iw) == (h, w):
        return _resize(img, h, w)
    if policy == "pad":
        scale = min(h / ih, w / iw)
        nh, nw = max(1, min(h, round(ih * scale))), max(1, min(w, round(iw * scale)))
        out = np.full((h, w, img.shape[2]), pad_value, dtype=img.dtype)
        top, left = (h - nh) // 2, (w - nw) // 2
        out[top : top + nh, left : left + nw] = _resize(img, nh, nw)
        return out
    if policy == "center_crop":
        if iw * h > ih * w:  # wider than the target: crop columns
            cw = max(1, round(ih * w / h))
            left = (iw - cw) // 2
            img = img[:, left : left + cw]
        else:
            ch = max(1, round(iw * h / w))
            top = (ih - ch) // 2
            img = img[top : top + ch]
        return _resize(img, h, w)
    raise ValueError(f"unknown resize policy {policy!r} (known: {', '.join(POLICIES)})")
