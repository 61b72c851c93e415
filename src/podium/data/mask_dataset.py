"""The training samples of a pixelwise task (segmentation): (image, mask, weight), the mask
transformed and resized with its image, as the training core's loader takes them.

The config's albumentations pipeline (`podium.data.augment`) transforms both (`mask=`:
geometric transforms move the mask, intensity ones leave it), then both are resized to the
loader's image size (the mask nearest), so at each progressive stage (`train.stages`) the
mask follows the image. Masks may be 0/1 (a train table's, bool), float probabilities (a
teacher's soft pseudo-masks, `podium.pseudo_masks`), or ragged: an (N,) object array of each
row's (K, H_i, W_i) mask at its own size (a table of several image sizes, or labelled and
pseudo rows joined by `units.external.concat_rows`); each becomes a float target.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from podium.data.resize import resize_channels


class MaskDataset(Dataset):
    """uint8 (N, H, W, C) images and their masks -> (image, mask, weight) samples at `size`,
    augmented together by `transform` (seeded per sample, as `ImageDataset`); `weights` (N,)
    are the loss weights the step passes on (1 where None)."""

    def __init__(
        self,
        images: np.ndarray,
        masks: np.ndarray,
        transform: Any,
        size: tuple[int, int],
        weights: np.ndarray | None = None,
    ) -> None:
        self.images, self.masks, self.transform, self.size = images, masks, transform, size
        self.weights = torch.as_tensor(
            np.ones(len(images), np.float32) if weights is None else np.asarray(weights, np.float32)
        )

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, item: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        index, seed = item
        img = np.asarray(self.images[index])
        mask = np.ascontiguousarray(np.asarray(self.masks[index]).transpose(1, 2, 0))  # (H', W', K)
        if mask.dtype == np.bool_:  # a table's masks (ragged ones item by item): 0/1 uint8
            mask = mask.view(np.uint8)
        if mask.dtype == np.float16:  # OpenCV and albumentations resize float32, not float16
            mask = mask.astype(np.float32)
        if mask.shape[:2] != img.shape[:2]:
            mask = resize_channels(mask, img.shape[0], img.shape[1], cv2.INTER_NEAREST)
        if self.transform is not None:
            self.transform.set_random_seed(seed)
            out = self.transform(image=img, mask=mask)
            img, mask = out["image"], out["mask"]
        h, w = self.size
        if img.shape[:2] != (h, w):
            img = resize_channels(img, h, w, cv2.INTER_AREA)
        if mask.shape[:2] != (h, w):
            mask = resize_channels(mask, h, w, cv2.INTER_NEAREST)
        img = np.ascontiguousarray(img)
        target = torch.from_numpy(np.ascontiguousarray(mask.transpose(2, 0, 1))).float()
        image = torch.from_numpy(img.copy() if not img.flags.writeable else img)
        return image, target, self.weights[index]
