"""The record every volume reader returns (`Volume`: values in reading order with their voxel
spacing) and the error a reader raises for one bad file (`VolumeReadError`, which the decode
cache turns into its one-line list of bad images)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


class VolumeReadError(ValueError):
    """One volume file could not be read: `path` and `reason` name it and why."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path, self.reason = Path(path), reason
        super().__init__(f"cannot read volume {path} ({reason})")

    def __reduce__(self):  # picklable across processes despite its two arguments
        return type(self), (self.path, self.reason)


@dataclass(frozen=True)
class Volume:
    """A volume's values (D, H, W) as stored (float32 from NIfTI and DICOM, modality units
    for DICOM: HU after the rescale; a `.npy`'s own dtype, so uint8 needs no window), `spacing` (z, y, x) in mm where the file says it (None: unknown, e.g. a `.npy`),
    and for DICOM its dataset (`header`: the VOI window and MONOCHROME1 are read from it)."""

    values: np.ndarray
    spacing: tuple[float, float, float] | None
    header: Any = None
