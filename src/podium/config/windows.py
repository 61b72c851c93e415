"""`data.windows`: several windows of one DICOM image (or of each slice of a series) stacked
as channels, as RSNA's intracranial winners fed brain, subdural and bone windows together.

    data:
      windows: [[40, 80], [80, 200], [600, 2800]]   # [center, width] each, modality units (HU)

Each window is [center, width] (as radiologists and DICOM's WindowCenter/Width give them; the
single `data.window` is [low, high]): it maps [center - width/2, center + width/2] to 0..255.
A 2-D DICOM gives one channel per window (`data.channels` follows: left out, it becomes the
number of windows); a series (`data.slices`) gives each slice len(windows) channels, so the
cache holds depth * len(windows) channels and the 2.5D encoder (2k+1) * len(windows).
`windows` replaces `data.window` and `data.dicom_window: [low, high]` (both set is an error);
MONOCHROME1 is inverted after each window, as after the one.
"""

from __future__ import annotations

from typing import Any

from pydantic import field_validator, model_validator

from podium.config.section import Section

Bounds = tuple[tuple[float, float], ...]


class WindowKeys(Section):
    """The windows key of `data:` (a base of DataConfig; see the module docstring)."""

    windows: list[tuple[float, float]] | None = None

    @field_validator("windows")
    @classmethod
    def _positive_widths(cls, v: list[tuple[float, float]] | None) -> Any:
        if v is not None and not v:
            raise ValueError("windows: give at least one [center, width], or leave it out")
        for i, (center, width) in enumerate(v or []):
            if not width > 0:
                raise ValueError(
                    f"windows[{i}] is [center, width] with width > 0, got [{center}, {width}]"
                )
        return v

    @property
    def slice_channels(self) -> int:
        """Channels each 2-D image or slice gives: one per window, else one."""
        return len(self.windows) if self.windows else 1

    @model_validator(mode="after")
    def _one_way_to_window(self) -> WindowKeys:
        if self.windows is None:
            return self
        if getattr(self, "window", None) is not None:
            raise ValueError("windows and window: give several windows or one, not both")
        if isinstance(getattr(self, "dicom_window", "file"), tuple):
            raise ValueError("windows and dicom_window [low, high]: give one of them")
        if getattr(self, "volume_size", None) is not None:
            raise ValueError("windows: volumes (volume_size) take one window (data.window) yet")
        return self


def windows_channels(data: Any) -> None:
    """A 2-D image's `channels` with `data.windows`: left out, one per window; given, it must
    say so. Called by DataConfig's validator before the normalisation counts channels."""
    if data.windows is None or data.slices is not None:
        return
    n = len(data.windows)
    if "channels" in data.model_fields_set and data.channels != n:
        raise ValueError(
            f"channels ({data.channels}) must be the number of windows ({n}); leave it out"
        )
    data.__dict__["channels"] = n  # not setattr: that would re-run the validators


def window_bounds(windows: Any) -> Bounds | None:
    """[center, width] pairs -> (low, high) pairs, what the readers' windowing maps."""
    if windows is None:
        return None
    return tuple((float(c) - float(w) / 2, float(c) + float(w) / 2) for c, w in windows)
