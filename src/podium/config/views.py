"""TTA view names, checked without importing the views themselves (torch-free, so a config
validates cheaply); the views live in podium.data."""

from __future__ import annotations

import re

TTA_VIEWS_DOC = "identity, hflip, vflip, transpose, rot90, rot180, rot270, scale<f>, shift<dx>_<dy>"
FIXED_VIEWS = ("identity", "hflip", "vflip", "transpose", "rot90", "rot180", "rot270")
# the parametric views: scale<f> zooms about the centre, shift<dx>_<dy> translates by pixels
SCALE_VIEW = re.compile(r"scale(\d+(?:\.\d+)?)")
SHIFT_VIEW = re.compile(r"shift(-?\d+)_(-?\d+)")


def check_view_name(name: str) -> str:
    """A TTA view name is one of FIXED_VIEWS or matches a parametric pattern (torch-free, so a
    config validates without importing the views themselves)."""
    if name in FIXED_VIEWS or SCALE_VIEW.fullmatch(name) or SHIFT_VIEW.fullmatch(name):
        return name
    raise ValueError(
        f"unknown TTA view {name!r}; known: {sorted(FIXED_VIEWS)}, scale<f> (scale1.1), "
        "shift<dx>_<dy> (shift2_0)"
    )
