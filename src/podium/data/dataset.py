"""The training dataset over a uint8 image array, and its deterministic sampling.

Why samples arrive as `(index, seed)`: each image's augmentation is seeded from the epoch's
sampler, not from worker state, so results do not depend on the number of workers and a
resumed run replays exactly the augmentations an uninterrupted one would have drawn
(persistent workers included).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

import cv2
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from podium.data.resize import resize_channels


class Transform(Protocol):
    """What the dataset asks of an augmentation (`podium.data.augment`'s pipeline)."""

    def __call__(self, *, image: np.ndarray) -> dict[str, Any]: ...

    def set_random_seed(self, seed: int) -> None: ...


class ImageDataset(Dataset):
    """uint8 HWC images with soft targets (N, C) and per-row loss weights (N,); with a raw
    metadata matrix (N, M) (podium.data.metadata), each sample carries its row as a fourth
    item, never augmented."""

    def __init__(
        self,
        images: np.ndarray,
        targets: np.ndarray,
        weights: np.ndarray | None = None,
        transform: Transform | None = None,
        image_size: tuple[int, int] | None = None,
        metadata: np.ndarray | None = None,
    ) -> None:
        self.images = images
        self.targets = torch.as_tensor(np.asarray(targets, dtype=np.float32))
        self.weights = torch.as_tensor(
            np.ones(len(images), np.float32) if weights is None else np.asarray(weights, np.float32)
        )
        self.transform = transform
        self.image_size = image_size
        self.metadata = None if metadata is None else torch.as_tensor(metadata, dtype=torch.float32)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, item: tuple[int, int] | int) -> tuple[torch.Tensor, ...]:
        index, seed = item if isinstance(item, tuple) else (item, None)
        img = np.asarray(self.images[index])
        if self.transform is not None:
            if seed is not None:
                self.transform.set_random_seed(seed)
            img = self.transform(image=img)["image"]
        if self.image_size is not None and img.shape[:2] != tuple(self.image_size):
            h, w = self.image_size
            img = resize_channels(img, h, w, cv2.INTER_AREA)  # any C (cv2 alone drops C=1's axis)
        img = np.ascontiguousarray(img)
        if not img.flags.writeable:  # an untransformed memmap row: torch warns on read-only memory
            img = img.copy()
        sample = (torch.from_numpy(img), self.targets[index], self.weights[index])
        return sample if self.metadata is None else (*sample, self.metadata[index])


def balanced_indices(labels: np.ndarray, mode: str, rng: np.random.Generator) -> np.ndarray:
    """One epoch of class-balanced indices: every class drawn to the size of the largest
    (`upsample`, with replacement) or the smallest (`downsample`, without) class."""
    classes = np.unique(labels)
    by_class = [np.flatnonzero(labels == c) for c in classes]
    sizes = [len(ix) for ix in by_class]
    n = max(sizes) if mode == "upsample" else min(sizes)
    parts = [rng.choice(ix, size=n, replace=len(ix) < n) for ix in by_class]
    return rng.permutation(np.concatenate(parts))


class EpochSampler(Sampler):
    """Yields `(index, augmentation seed)` pairs; the order is a pure function of
    (seed, epoch), so resume is exact. `balance` = 'none' | 'upsample' | 'downsample'
    (the class-balanced sampler catalyst used to provide)."""

    def __init__(
        self, n: int, seed: int, labels: np.ndarray | None = None, balance: str = "none"
    ) -> None:
        self.n, self.seed, self.labels, self.balance, self.epoch = n, seed, labels, balance, 0
        if balance != "none" and labels is None:
            raise ValueError("a balanced sampler needs labels")

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _indices(self, rng: np.random.Generator) -> np.ndarray:
        if self.balance == "none":
            return rng.permutation(self.n)
        assert self.labels is not None  # __init__ rejects balancing without labels
        return balanced_indices(self.labels, self.balance, rng)

    def __len__(self) -> int:
        return len(self._indices(np.random.default_rng(0))) if self.balance != "none" else self.n

    def __iter__(self) -> Iterator[tuple[int, int]]:
        rng = np.random.default_rng([self.seed, self.epoch])
        idx = self._indices(rng)
        seeds = rng.integers(0, 2**31 - 1, size=len(idx))
        return iter(zip(idx.tolist(), seeds.tolist(), strict=True))


def _worker_init(_: int) -> None:
    # each worker would otherwise start OpenCV's own thread pool and oversubscribe the CPU
    cv2.setNumThreads(0)


def train_loader(
    dataset: Dataset,
    sampler: EpochSampler,
    batch_size: int,
    num_workers: int,
    pin_memory: bool,
    drop_last: bool,
) -> DataLoader:
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        num_workers=num_workers,
        pin_memory=pin_memory,
        drop_last=drop_last,
        persistent_workers=num_workers > 0,
        prefetch_factor=4 if num_workers > 0 else None,
        worker_init_fn=_worker_init,
    )
