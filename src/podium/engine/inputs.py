"""How one unit's training rows are fed: the augmenting loader at a given image size
(progressive resizing builds one per stage size). The rows are engine/rows.py's, the network
engine/network.py's."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import DataLoader

from podium.config import Config
from podium.data.augment import build_train_transform
from podium.data.dataset import EpochSampler, ImageDataset, train_loader
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
    size. A teacher's soft targets ride beside the labels (mixup mixes both alike)."""
    size = image_size or cfg.data.image_size
    targets = rows.targets if rows.teacher is None else np.hstack([rows.targets, rows.teacher])
    dataset = ImageDataset(
        rows.images,
        targets,
        rows.weights,
        build_train_transform(cfg.data.train_augs, size),
        size,
        rows.metadata,
    )
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
