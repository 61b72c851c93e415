"""How one unit's training rows are fed: the augmenting loader at a given image size
(progressive resizing builds one per stage size), and its batches moved to the device as the
step takes them. The rows are engine/rows.py's, the network engine/network.py's.

The samples are the task's: target rows beside their image (`data.dataset.ImageDataset`),
or, for a pixelwise task (segmentation), a mask per image that is augmented and resized with
it (`data.mask_dataset.MaskDataset`); both yield (image, target, weight[, metadata]), the
step's criterion(logits, targets, weights) contract."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import DataLoader

from podium.config import Config
from podium.data.augment import build_train_transform
from podium.data.dataset import EpochSampler, ImageDataset, train_loader
from podium.data.device import Normalizer
from podium.data.mask_dataset import MaskDataset
from podium.data.prefetch import DevicePrefetcher
from podium.engine import distributed
from podium.engine.rows import TrainRows
from podium.tasks import Task


def build_train_loader(
    cfg: Config,
    task: Task,
    rows: TrainRows,
    sampler_seed: int,
    device: torch.device,
    image_size: tuple[int, int] | None = None,
) -> tuple[DataLoader, EpochSampler]:
    """The augmenting loader over `rows` at `image_size` (default `data.image_size`), with its
    (seed, epoch)-deterministic sampler: the same sample order and augmentation seeds at every
    size; the samples are `train_dataset`'s."""
    size = image_size or cfg.data.image_size
    dataset = train_dataset(cfg, task, rows, size)
    sampling = task.sampling if cfg.train.sampler != "none" else None  # validated present
    labels = sampling.labels(rows.targets) if sampling is not None else None
    sampler = EpochSampler(len(dataset), sampler_seed, labels, cfg.train.sampler)
    # train.batch_size is global: each of the world's processes takes its share
    batch_size = min(cfg.train.batch_size, len(sampler)) // distributed.current().world_size
    loader = train_loader(
        dataset,
        distributed.shard(sampler),  # this process's positions of the epoch's order
        batch_size - batch_size % 2,  # mixup pairs need an even batch
        cfg.data.num_workers,
        pin_memory=device.type == "cuda",
        drop_last=True,
    )
    return loader, sampler


def train_dataset(
    cfg: Config, task: Task, rows: TrainRows, size: tuple[int, int]
) -> ImageDataset | MaskDataset:
    """The augmented samples of `rows` at `size`: masks (`task.pixelwise`: `rows.targets`
    holds one per image, at any size) move and resize with their image; target rows do not
    (a teacher's soft targets ride beside the labels: mixup mixes both alike)."""
    if task.pixelwise:
        transform = build_train_transform(cfg.data.train_augs, size, cfg.data.n_channels)
        return MaskDataset(rows.images, rows.targets, transform, size, rows.weights)
    targets = rows.targets if rows.teacher is None else np.hstack([rows.targets, rows.teacher])
    return ImageDataset(
        rows.images,
        targets,
        rows.weights,
        build_train_transform(cfg.data.train_augs, size),
        size,
        rows.metadata,
    )


def device_batches(cfg: Config, loader: DataLoader, device: torch.device) -> DevicePrefetcher:
    """The loader's batches as the training step takes them: (images, targets, weights,
    *metadata) on `device`, the uint8 images normalised there (float NCHW, channels_last when
    `train.channels_last`). On a GPU each batch is copied and normalised on a side stream
    while the previous one computes (`DevicePrefetcher`); on the CPU, in turn."""
    normalize = Normalizer(cfg.data.mean, cfg.data.std, device, cfg.train.channels_last)

    def to_device(batch):
        images, targets, weights, *metadata = batch  # metadata: with competition.metadata
        return (
            normalize(images),
            targets.to(device, non_blocking=True),
            weights.to(device, non_blocking=True),
            *(m.to(device, non_blocking=True) for m in metadata),
        )

    return DevicePrefetcher(loader, to_device, device)
