"""A row's volume file, whatever its format, as a `Volume` (values (D, H, W) and spacing):
the one entry point the decode cache's reader (`podium.data.volumes`) calls.

Formats, found by suffix, then by DICOM's magic bytes:
    .nii, .nii.gz     NIfTI through nibabel (`podium.volumes.nifti`: reoriented to RAS+)
    .npy              a numeric (D, H, W) array; its spacing is unknown (`data.spacing` is
                      assumed: the file is taken to be at the target spacing already)
    .dcm, DICM magic  a multi-frame DICOM (`podium.volumes.dicom_frames`)
A folder (a series of slices, `data.slices`), a missing or empty file, another format, or an
array that is not 3-D is a VolumeReadError naming the file.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from podium.volumes.dicom_frames import read_dicom_frames
from podium.volumes.nifti import is_nifti, read_nifti
from podium.volumes.record import Volume, VolumeReadError

FORMATS = ".nii, .nii.gz, .npy (D, H, W) or a multi-frame DICOM"


def read_volume(path: Path) -> Volume:
    """The volume at `path` (see the module docstring)."""
    path = Path(path)
    if path.is_dir():
        raise VolumeReadError(path, "a folder, not a volume (a series of slices? data.slices)")
    if is_nifti(path):
        return read_nifti(path)
    data = _read_bytes(path)
    if path.suffix.lower() == ".npy":
        return _read_npy(path, data)
    if path.suffix.lower() in (".dcm", ".dicom") or data[128:132] == b"DICM":
        return read_dicom_frames(path, data)
    raise VolumeReadError(path, f"not a volume format podium reads ({FORMATS})")


def _read_bytes(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise VolumeReadError(path, "file not found") from None
    except OSError as e:
        raise VolumeReadError(path, f"unreadable: {e.strerror or e}") from None
    if not data:
        raise VolumeReadError(path, "empty file (0 bytes)")
    return data


def _read_npy(path: Path, data: bytes) -> Volume:
    try:
        arr = np.load(io.BytesIO(data), allow_pickle=False)
    except ValueError as e:
        raise VolumeReadError(path, f"not a numeric .npy volume ({e})") from None
    if arr.ndim != 3 or arr.dtype.kind not in "biuf":
        raise VolumeReadError(path, f"a .npy volume must be numeric (D, H, W), got {arr.shape}")
    return Volume(np.ascontiguousarray(arr), None)  # uint8 stays uint8: no window needed
