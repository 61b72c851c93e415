"""Config pieces about a competition's inputs beyond its own tables: the normalisation that
fits a channel count, external labelled data (`data.external`, podium.units.external) and
the tabular metadata columns beside each image (`competition.metadata`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

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


class MetadataColumns(BaseModel):
    """`competition.metadata`: tabular columns beside each image, in train.csv and the test
    table (podium.data.metadata reads them; the network's MLP and the stack use them)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)
    numeric: list[str] = []
    categorical: list[str] = []

    @property
    def columns(self) -> list[str]:
        return [*self.numeric, *self.categorical]

    @model_validator(mode="after")
    def _distinct(self) -> MetadataColumns:
        both = self.columns
        if not both:
            raise ValueError("metadata names no column: give numeric and/or categorical columns")
        repeated = sorted({c for c in both if both.count(c) > 1})
        if repeated:
            raise ValueError(f"metadata lists column(s) {repeated} more than once")
        return self


def check_metadata_columns(metadata: MetadataColumns, taken: dict[str, str]) -> None:
    """The id, target and group columns are not metadata (a target would leak the label)."""
    for column in metadata.columns:
        if column in taken:
            raise ValueError(f"metadata column {column!r} is the {taken[column]} column")
