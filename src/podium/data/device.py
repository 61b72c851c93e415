"""The last step of the data path, on the device: uint8 NHWC batches become normalised
float NCHW inputs there, not in the workers, so the host moves 4x fewer bytes and the
workers do no float math."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


class Normalizer:
    """uint8 (B, H, W, C) on any device -> float (B, C, h, w) on `device`, normalised;
    `mean` and `std` hold one value per channel (C of them)."""

    def __init__(
        self,
        mean: tuple[float, ...],
        std: tuple[float, ...],
        device: torch.device,
        channels_last: bool,
        size: tuple[int, int] | None = None,
    ) -> None:
        if len(mean) != len(std):
            raise ValueError(f"mean has {len(mean)} channels but std has {len(std)}")
        self.mean = torch.tensor(mean, device=device).view(1, -1, 1, 1) * 255
        self.inv_std = 1.0 / (torch.tensor(std, device=device).view(1, -1, 1, 1) * 255)
        self.device = device
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.size = tuple(size) if size is not None else None

    def __call__(self, batch: torch.Tensor | np.ndarray) -> torch.Tensor:
        if isinstance(batch, np.ndarray):
            batch = torch.from_numpy(np.ascontiguousarray(batch))
        x = batch.to(self.device, non_blocking=True).permute(0, 3, 1, 2).float()
        if self.size is not None and tuple(x.shape[-2:]) != self.size:
            x = F.interpolate(
                x, size=self.size, mode="bilinear", antialias=True, align_corners=False
            )
        x = (x - self.mean) * self.inv_std
        return x.contiguous(memory_format=self.memory_format)
