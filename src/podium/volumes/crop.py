"""A volume brought to a fixed shape (D, H, W) and the training crops and flips of a batch.

- `center_crop_or_pad`: the decode cache's shape (`data.volume_cache_size`, default
  `data.volume_size`): MONAI's ResizeWithPadOrCrop, centred, padding with the window's low
  end (`data.pad_value`, 0: air for a CT window) so that a small study is not stretched;
- `random_crop`: training takes a random `data.volume_size` crop of each cached volume
  (a different place per volume and step) when the cache is larger;
- `random_flips`: each volume of a training batch flipped along each axis named in
  `data.volume_flips` with probability 1/2. Flips are label-preserving for findings that may
  lie on either side; the TTA views hflip, vflip and dflip are their prediction-time twins.
Randomness is torch's, seeded per unit with everything else (`podium.engine.seeding`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

AXES = {"z": -3, "y": -2, "x": -1}


def center_crop_or_pad(values: np.ndarray, shape: Sequence[int], pad_value: float) -> np.ndarray:
    """(D, H, W) -> `shape`, centred: larger axes cropped, smaller padded with `pad_value`."""
    if tuple(values.shape) == tuple(shape):
        return values
    from monai.transforms import ResizeWithPadOrCrop  # local for import cost

    resize = ResizeWithPadOrCrop(tuple(shape), mode="constant", value=float(pad_value))
    out = resize(torch.from_numpy(np.ascontiguousarray(values))[None])
    return np.asarray(torch.as_tensor(out)[0].numpy(), values.dtype)


def random_crop(x: torch.Tensor, roi: Sequence[int]) -> torch.Tensor:
    """(B, C, D, H, W) -> (B, C, *roi): each volume cropped at its own random place."""
    size = x.shape[-3:]
    if tuple(size) == tuple(roi):
        return x
    crops = []
    for volume in x:
        start = [
            int(torch.randint(0, s - r + 1, ()).item()) for s, r in zip(size, roi, strict=True)
        ]
        d, h, w = (slice(a, a + r) for a, r in zip(start, roi, strict=True))
        crops.append(volume[:, d, h, w])
    return torch.stack(crops)


def random_flips(x: torch.Tensor, axes: Sequence[str]) -> torch.Tensor:
    """Each volume of (B, C, D, H, W) flipped along each of `axes` ('z', 'y', 'x') with
    probability 1/2, independently."""
    for axis in axes:
        flip = torch.rand(x.shape[0], device=x.device) < 0.5
        if bool(flip.any()):
            x = torch.where(flip.view(-1, 1, 1, 1, 1), x.flip(AXES[axis]), x)
    return x
