"""A volume resampled to the experiment's voxel spacing (`data.spacing`, z, y, x in mm), so
that one voxel is the same size in every study: a 5 mm CT and a 1.25 mm one show an organ at
one size. MONAI's `Spacing` does the work (its output shape rule and trilinear interpolation;
no anti-aliasing when shrinking, as MONAI's own pipelines): the volume's affine is its spacing
on the diagonal (the axes are already the array's, `podium.volumes.readers`)."""

from __future__ import annotations

import numpy as np


def resample_to_spacing(
    values: np.ndarray, spacing: tuple[float, float, float], target: tuple[float, float, float]
) -> np.ndarray:
    """(D, H, W) at `spacing` -> (D', H', W') float32 at `target` (trilinear)."""
    v = np.ascontiguousarray(values, dtype=np.float32)
    if np.allclose(spacing, target):
        return v
    import torch
    from monai.data import MetaTensor  # local for import cost: only volumes need MONAI
    from monai.transforms import Spacing

    affine = torch.diag(torch.tensor([*spacing, 1.0], dtype=torch.float64))
    image = MetaTensor(torch.from_numpy(v)[None], affine=affine)
    out = Spacing(pixdim=target, mode="bilinear", padding_mode="border")(image)
    return np.asarray(torch.as_tensor(out)[0].numpy(), np.float32)
