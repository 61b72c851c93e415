"""What a reader needs to know to turn one file into uint8 pixels (`ReadSpec`, from the
config's `data:` section), and the error a reader raises for one bad file."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from podium.config.windows import Bounds, window_bounds
from podium.errors import DataError

CHANNEL = "{channel}"
ResizePolicy = Literal["squash", "pad", "center_crop"]


class ImageReadError(DataError):
    """One file could not be read; `path` and `reason` let the cache report many together."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path, self.reason = Path(path), reason
        super().__init__(f"cannot decode image {path} ({reason})")

    def __reduce__(self):  # picklable across processes despite its two arguments
        return type(self), (self.path, self.reason)


@dataclass(frozen=True)
class ReadSpec:
    """How to turn one file into uint8 pixels; `key()` goes into the decode cache's name."""

    channels: int | tuple[str, ...] = 3
    resize: ResizePolicy = "squash"
    pad_value: int = 0
    window: tuple[float, float] | None = None  # >8-bit inputs; DICOM: modality units (HU)
    percentiles: tuple[float, float] = (0.5, 99.5)
    # DICOM: the file's VOI window ("file"), none ("none"), or this one (modality units)
    dicom_window: str | tuple[float, float] = "file"
    # series (`data.slices.depth`): a folder of slices read as (H, W, depth), one channel
    # per slice (podium.data.series); None: one 2-D image per path
    depth: int | None = None
    # several windows stacked as channels (`data.windows`, as (low, high) pairs): a 2-D DICOM
    # gives one channel per window, a series' slice len(windows) (podium.config.windows)
    windows: Bounds | None = None
    # series: slices resampled to this spacing (mm) along the normal first (`slices.spacing`)
    slice_spacing: float | None = None
    # volumes (`data.volume_size`): one file per row read as (H, W, D) at the cached (D, H, W),
    # resampled first to `spacing` (z, y, x mm) when given (podium.data.volumes)
    volume: tuple[int, int, int] | None = None
    spacing: tuple[float, float, float] | None = None

    def __post_init__(self) -> None:
        if isinstance(self.channels, list):
            object.__setattr__(self, "channels", tuple(self.channels))

    @property
    def n_channels(self) -> int:
        if self.depth is not None:
            return self.depth * (len(self.windows) if self.windows else 1)
        if self.volume is not None:
            return self.volume[0]
        return len(self.channels) if isinstance(self.channels, tuple) else int(self.channels)

    @property
    def channel_names(self) -> tuple[str, ...] | None:
        return self.channels if isinstance(self.channels, tuple) else None

    def key(self) -> str:
        """The spec as text; the later keys (windows, slice spacing) only when set, so the
        caches made before them keep their names."""
        later = {"windows": self.windows, "slice_spacing": self.slice_spacing}
        base = tuple(getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in later)
        tail = "".join(f"|{k}={v}" for k, v in later.items() if v is not None)
        return f"readers-v1|{base}{tail}"

    @classmethod
    def from_config(cls, data: Any) -> ReadSpec:
        """From `cfg.data` (podium.config.DataConfig); keys it lacks keep their defaults."""
        fields = {f.name for f in dataclasses.fields(cls)}
        given = {k: getattr(data, k) for k in fields if getattr(data, k, None) is not None}
        slices = getattr(data, "slices", None)
        if slices is not None:
            given["depth"], given["channels"] = int(slices.depth), 1
            if slices.spacing is not None:
                given["slice_spacing"] = float(slices.spacing)
        if "windows" in given:
            given["windows"] = window_bounds(given["windows"])
        canvas = getattr(data, "volume_canvas", None)
        if canvas is not None:
            given["volume"], given["channels"] = tuple(int(v) for v in canvas), 1
        for k in ("window", "percentiles", "dicom_window", "spacing"):
            if k in given and not isinstance(given[k], str):
                given[k] = tuple(float(v) for v in given[k])
        return cls(**given)


def read_bytes(path: Path) -> bytes:
    """A file's bytes; a missing, unreadable or empty file is an ImageReadError naming it."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ImageReadError(path, "file not found") from None
    except OSError as e:
        raise ImageReadError(path, f"unreadable: {e.strerror or e}") from None
    if not data:
        raise ImageReadError(path, "empty file (0 bytes)")
    return data
