"""Config pieces about a competition's inputs beyond its own tables: the normalisation that
fits a channel count, and external labelled data (`data.external`, podium.units.external)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, field_validator

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def default_normalisation(n_channels: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(mean, std) when `data.mean`/`std` are not given: ImageNet's for 3 channels (what
    pretrained stems expect), their average for 1 (timm sums a 1-channel stem's RGB weights,
    so grey at ImageNet's mean grey fits it), and 0.5 / 0.25 per channel otherwise (no
    standard exists for 2 or 4+ channels: roughly centred and scaled uint8)."""
    if n_channels == 3:
        return IMAGENET_MEAN, IMAGENET_STD
    if n_channels == 1:
        return (round(sum(IMAGENET_MEAN) / 3, 3),), (round(sum(IMAGENET_STD) / 3, 3),)
    return (0.5,) * n_channels, (0.25,) * n_channels


class ExternalSource(BaseModel):
    """Extra labelled data: a table (id and target columns, like train.csv) and an image path
    template, both relative to the competition folder."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)
    table: str
    images: str

    @field_validator("images")
    @classmethod
    def _has_id(cls, v: str) -> str:
        if "{id}" not in v:
            raise ValueError(f"external images template {v!r} needs an {{id}} placeholder")
        return v
