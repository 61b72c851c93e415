"""`data:`'s keys for 3-D volumes (podium.volumes): a row's image is one volume (NIfTI, `.npy`,
a multi-frame DICOM) classified by a MONAI 3-D network.

    data:
      volume_size: [16, 24, 24]        # D, H, W the network sees (a training crop's size)
      volume_cache_size: [20, 28, 28]  # D, H, W cached (default volume_size); larger: random
                                       # training crops, sliding-window prediction
      spacing: [2.0, 1.5, 1.5]         # z, y, x mm every volume is resampled to first
                                       # (default: none, voxels as stored); a .npy is taken
                                       # to be at this spacing already
      volume_flips: [z, y, x]          # training: random flips along these axes
    model:
      arch: monai:resnet10             # podium.volumes.network.NETWORKS

The cache holds each volume as (H, W, D) uint8 (its slices are the channels, as a series'),
so `data.image_size` is the cache's (H, W), `data.channels` is 1, and normalisation has one
value per slice (default 0.5 / 0.25 each).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from podium.config.section import Section

MONAI_PREFIX = "monai:"
Axis = Literal["z", "y", "x"]


def is_monai_arch(arch: str | None) -> bool:
    """`model.arch` names a MONAI 3-D network ('monai:resnet10')."""
    return arch is not None and arch.lower().startswith(MONAI_PREFIX)


class VolumeKeys(Section):
    """The volume keys of `data:` (a base of DataConfig; see the module docstring)."""

    volume_size: tuple[int, int, int] | None = None
    volume_cache_size: tuple[int, int, int] | None = None
    spacing: tuple[float, float, float] | None = None
    volume_flips: list[Axis] = Field(default_factory=list)

    @field_validator("volume_size", "volume_cache_size")
    @classmethod
    def _positive(cls, v: tuple[int, int, int] | None, info: Any) -> tuple[int, int, int] | None:
        if v is not None and min(v) < 1:
            raise ValueError(f"{info.field_name} must be at least 1 voxel a side, got {list(v)}")
        return v

    @field_validator("spacing")
    @classmethod
    def _positive_spacing(
        cls, v: tuple[float, float, float] | None
    ) -> tuple[float, float, float] | None:
        if v is not None and min(v) <= 0:
            raise ValueError(f"spacing must be positive mm (z, y, x), got {list(v)}")
        return v

    @property
    def volume_canvas(self) -> tuple[int, int, int] | None:
        """The cached (D, H, W): `volume_cache_size`, else `volume_size`."""
        return self.volume_cache_size or self.volume_size

    @model_validator(mode="after")
    def _volume(self) -> VolumeKeys:
        fields = self.model_fields_set
        if self.volume_size is None:
            given = [
                k for k in ("volume_cache_size", "spacing", "volume_flips") if getattr(self, k)
            ]
            if given:
                raise ValueError(f"{given[0]} is a volume key: set data.volume_size too")
            return self
        if getattr(self, "slices", None) is not None:
            raise ValueError("volume_size and slices: a row is a volume or a series, not both")
        canvas = self.volume_canvas
        assert canvas is not None
        if any(c < s for c, s in zip(canvas, self.volume_size, strict=True)):
            raise ValueError(
                f"volume_cache_size {list(canvas)} must be at least volume_size "
                f"{list(self.volume_size)} on every axis"
            )
        plane = (canvas[1], canvas[2])  # the cache's (H, W); saved configs carry it
        size, cache = getattr(self, "image_size", plane), getattr(self, "cache_size", None)
        if ("image_size" in fields and tuple(size) != plane) or cache is not None:
            key = "image_size" if cache is None else "cache_size"
            raise ValueError(
                f"{key}: a volume's size is volume_size / volume_cache_size; leave {key} out"
            )
        self.__dict__["image_size"] = plane
        return self


def check_volume_model(
    data: VolumeKeys, arch: str | None, tta: list[str], progressive: bool = False
) -> None:
    """A volume needs a MONAI network and a MONAI network needs volumes; `dflip` (the depth
    flip) is a volume's view only; progressive resizing (`train.stages`, 2-D sizes) is not a
    volume's. Raises ValueError (the config's boundary reports it)."""
    volume = data.volume_size is not None
    if volume and progressive:
        raise ValueError("train.stages resize 2-D images; volumes train at data.volume_size")
    if volume and not is_monai_arch(arch):
        raise ValueError(
            "data.volume_size needs a 3-D network: set model.arch: monai:<network> "
            "(monai:resnet10, monai:densenet121, ...)"
        )
    if not volume and is_monai_arch(arch):
        raise ValueError(f"model.arch {arch} is a 3-D network: set data.volume_size [D, H, W]")
    if not volume and "dflip" in tta:
        raise ValueError("infer.tta: dflip flips a volume's depth; it needs data.volume_size")
