"""The `infer:` section and its TTA view names, checked without importing the views
themselves (torch-free, so a config validates cheaply); the views live in podium.data."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from podium.config.section import Section

TTA_VIEWS_DOC = (
    "identity, hflip, vflip, transpose, rot90, rot180, rot270, scale<f>, shift<dx>_<dy>, dflip"
)
# dflip flips the channels (-3): a volume's depth (data.volume_size only, podium.config.volumes)
FIXED_VIEWS = ("identity", "hflip", "vflip", "transpose", "rot90", "rot180", "rot270", "dflip")
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


class InferConfig(Section):
    tta: list[str] = Field(default_factory=lambda: ["identity"])
    merge: Literal["prob", "logit", "geometric"] = "prob"
    batch_size: int = Field(256, ge=1)

    @field_validator("tta")
    @classmethod
    def _known_views(cls, views: list[str]) -> list[str]:
        if not views:
            raise ValueError("infer.tta needs at least one view (identity)")
        return [check_view_name(v) for v in views]
