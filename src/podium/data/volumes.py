"""A row's 3-D volume as the decode cache's image: (H, W, D) uint8, its slices the channels,
at the cached shape `data.volume_cache_size` (default `data.volume_size`).

The steps, in order:
1. read (`podium.volumes.readers`: NIfTI, `.npy`, multi-frame DICOM) the values and spacing;
2. one window for the whole volume, as a series has (`podium.data.series`: `data.dicom_window`,
   `data.window`, a DICOM's VOI window, else percentiles over the volume; MONOCHROME1
   inverted after it): uint8 values, so resampling cannot make a new intensity range;
3. resampled to `data.spacing` (`podium.volumes.spacing`, MONAI's Spacing; a volume without a
   spacing, a `.npy`, is taken to be at `data.spacing` already);
4. centred crop or pad to the cached shape (`podium.volumes.crop`, padding with
   `data.pad_value`).
Why uint8 in the cache: the window decides the contrast once (as for 2-D DICOM and series),
so the cache is 4x smaller than float32 and every loader and TTA path stays as it is.
A reader's VolumeReadError becomes an ImageReadError naming the file, so the cache lists it
with the other bad images in one line.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from podium.data.read_spec import ImageReadError, ReadSpec
from podium.data.series import _window
from podium.volumes.crop import center_crop_or_pad
from podium.volumes.readers import read_volume
from podium.volumes.record import VolumeReadError
from podium.volumes.spacing import resample_to_spacing


def read_volume_image(path: Path, spec: ReadSpec) -> np.ndarray:
    """A volume file as (H, W, D) uint8 at `spec.volume` (D, H, W); see the module docstring."""
    assert spec.volume is not None  # read_image sends only volume specs here
    try:
        volume = read_volume(path)
    except VolumeReadError as e:
        raise ImageReadError(e.path, e.reason) from None
    scaled = _window(volume.values, spec, volume.header).astype(np.float32)
    header = volume.header
    if header is not None and str(header.get("PhotometricInterpretation", "")) == "MONOCHROME1":
        scaled = 255 - scaled
    if spec.spacing is not None and volume.spacing is not None:
        scaled = resample_to_spacing(scaled, volume.spacing, spec.spacing)
    fitted = center_crop_or_pad(scaled, spec.volume, spec.pad_value)
    image: np.ndarray = np.clip(fitted + 0.5, 0, 255).astype(np.uint8).transpose(1, 2, 0)
    return np.ascontiguousarray(image)
