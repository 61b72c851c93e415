"""Test-time augmentation views: a registry of label-preserving transforms of a normalised
(B, C, H, W) batch on the device. Which views are valid is a property of the competition
(flips suit leaves, not digits), so the config lists them by name:

    identity, hflip, vflip, transpose, rot90, rot180, rot270,
    dflip      a volume's depth flipped (its slices are the channels; volumes only),
    scale<f>   zoom by factor f about the centre (scale1.1 zooms in, scale0.9 out),
    shift<dx>_<dy>  translate by whole pixels (shift2_-1); borders repeat the edge pixels
"""

from __future__ import annotations

import re
from collections.abc import Callable

import torch
import torch.nn.functional as F

View = Callable[[torch.Tensor], torch.Tensor]

_FIXED: dict[str, View] = {
    "identity": lambda x: x,
    "hflip": lambda x: x.flip(-1),
    "vflip": lambda x: x.flip(-2),
    "transpose": lambda x: x.transpose(-1, -2),
    "rot90": lambda x: torch.rot90(x, 1, (-2, -1)),
    "rot180": lambda x: torch.rot90(x, 2, (-2, -1)),
    "rot270": lambda x: torch.rot90(x, 3, (-2, -1)),
    "dflip": lambda x: x.flip(-3),
}


def _scale(factor: float) -> View:
    def view(x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        theta = torch.tensor(
            [[1 / factor, 0, 0], [0, 1 / factor, 0]], dtype=x.dtype, device=x.device
        )
        grid = F.affine_grid(
            theta.expand(x.shape[0], 2, 3), [x.shape[0], x.shape[1], h, w], align_corners=False
        )
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)

    return view


def _shift(dx: int, dy: int) -> View:
    def view(x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        # pad by repeating the border, then crop: a zero fill would draw a band of the mean
        # colour (0 after normalisation), which models never saw in training
        pad = (max(dx, 0), max(-dx, 0), max(dy, 0), max(-dy, 0))
        padded = F.pad(x, pad, mode="replicate")
        top, left = max(-dy, 0), max(-dx, 0)
        return padded[..., top : top + h, left : left + w]

    return view


def get_view(name: str) -> View:
    if name in _FIXED:
        return _FIXED[name]
    if m := re.fullmatch(r"scale(\d+(?:\.\d+)?)", name):
        return _scale(float(m.group(1)))
    if m := re.fullmatch(r"shift(-?\d+)_(-?\d+)", name):
        return _shift(int(m.group(1)), int(m.group(2)))
    raise ValueError(
        f"unknown TTA view {name!r}; known: {sorted(_FIXED)}, scale<f> (scale1.1), shift<dx>_<dy> (shift2_0)"
    )


# each fixed view's inverse, for dense (per-pixel) predictions: the view's output is mapped
# back onto the original pixels before views are merged
_INVERSE = {"rot90": "rot270", "rot270": "rot90"}


def undo_view(name: str) -> View:
    """The inverse of a fixed view (a flip, transpose or rotation), for per-pixel outputs; a
    scale or shift view is not invertible pixel for pixel and is refused."""
    if name not in _FIXED:
        raise ValueError(
            f"TTA view {name!r} cannot be undone on a mask; use {', '.join(sorted(_FIXED))}"
        )
    return _FIXED[_INVERSE.get(name, name)]
