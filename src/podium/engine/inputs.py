"""What one unit trains on and how it is fed: the training and validation rows, the model
built in a seed-determined order, and the augmenting loader at a given image size (progressive
resizing builds one per stage size)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import DataLoader

from podium.config import Config
from podium.data.augment import build_train_transform
from podium.data.dataset import EpochSampler, ImageDataset, train_loader
from podium.engine.seeding import seed_everything
from podium.models import create_model
from podium.tasks import Task


@dataclass
class TrainRows:
    """What one unit trains on: uint8 images, the task's training targets (N, outputs), loss
    weights (N,) and, when distilling, the teacher's soft targets (N, outputs)."""

    images: np.ndarray
    targets: np.ndarray
    weights: np.ndarray | None = None
    teacher: np.ndarray | None = None


@dataclass
class ValidRows:
    """The validation fold: uint8 images and the task's encoded targets `y`."""

    images: np.ndarray
    y: np.ndarray


def build_model(cfg: Config, num_outputs: int, device: torch.device, seed: int) -> torch.nn.Module:
    """Seed, create, move to the device, channels_last: in this order, so that a unit's
    initial weights depend on its seed alone."""
    seed_everything(seed)
    model = create_model(cfg.model, num_outputs, cfg.data.n_channels).to(device)
    if cfg.train.channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model


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
    )
    labels = task.sampler_labels(rows.targets) if cfg.train.sampler != "none" else None
    sampler = EpochSampler(len(dataset), sampler_seed, labels, cfg.train.sampler)
    batch_size = min(cfg.train.batch_size, len(sampler))
    loader = train_loader(
        dataset,
        sampler,
        batch_size - batch_size % 2,  # mixup pairs need an even batch
        cfg.data.num_workers,
        pin_memory=device.type == "cuda",
        drop_last=True,
    )
    return loader, sampler
