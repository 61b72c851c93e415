"""NIfTI volumes (`.nii`, `.nii.gz`) through nibabel, as (D, H, W) = (z, y, x) values with
the header's voxel spacing.

Why reorient: NIfTI files store voxels along any axis order and direction (the affine says
which); two scanners' files of one anatomy differ by flips and transposes. The reader brings
every file to the closest canonical orientation (RAS+, `nib.as_closest_canonical`) first, so
the network always sees one axis order; then x, y, z become the array's last, middle and
first axes. A fourth axis of length 1 is dropped; a longer one (a time series) is refused.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from podium.volumes.record import Volume, VolumeReadError

SUFFIXES = (".nii", ".nii.gz")


def is_nifti(path: Path) -> bool:
    name = path.name.lower()
    return any(name.endswith(s) for s in SUFFIXES)


def read_nifti(path: Path) -> Volume:
    """One NIfTI file as a Volume (see the module docstring)."""
    import nibabel as nib  # local for import cost: only NIfTI inputs need it

    if not path.exists():
        raise VolumeReadError(path, "file not found")
    try:
        img = nib.as_closest_canonical(nib.load(str(path)))
        data = np.asarray(img.dataobj, dtype=np.float32)
        zooms = tuple(float(z) for z in img.header.get_zooms()[:3])
    except Exception as e:  # nibabel: ImageFileError, a cut gzip stream (EOFError), OSError
        msg = " ".join(str(e).split()) or type(e).__name__
        raise VolumeReadError(path, f"not a readable NIfTI file: {msg}") from None
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        raise VolumeReadError(path, f"a volume must be 3-D (x, y, z), got shape {data.shape}")
    known = len(zooms) == 3 and min(zooms) > 0
    spacing = (zooms[2], zooms[1], zooms[0]) if known else None
    return Volume(np.ascontiguousarray(data.transpose(2, 1, 0)), spacing)
