"""A unit's input path (`engine.inputs`): the train loader and its batches as the step takes
them, normalised on the device; on a GPU (`-m cuda`) from pinned host memory."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from podium.data.device import Normalizer
from podium.engine.inputs import build_train_loader, device_batches
from podium.engine.rows import TrainRows
from podium.tasks.classification import Multiclass


@pytest.fixture
def setup(tiny_config):
    cfg = tiny_config("data.train_augs=[]", "train.batch_size=8")
    rng = np.random.default_rng(0)
    rows = TrainRows(
        rng.integers(0, 256, (40, 32, 32, 3), dtype=np.uint8),
        np.eye(2, dtype=np.float32)[rng.integers(0, 2, 40)],
    )
    return cfg, Multiclass(cfg.competition, Path("synthetic"), ["a", "b"]), rows


def first_batches(cfg, task, rows, device: torch.device):
    """The loader's first raw batch and the same batch as the step receives it."""
    loader, _ = build_train_loader(cfg, task, rows, 0, device)
    raw = next(iter(loader))  # the sampler's order is fixed for an epoch: the same batch again
    return loader, raw, next(iter(device_batches(cfg, loader, device)))


def expected_images(cfg, raw_images: torch.Tensor) -> torch.Tensor:
    normalize = Normalizer(cfg.data.mean, cfg.data.std, torch.device("cpu"), channels_last=True)
    return normalize(raw_images)


def test_on_the_cpu_batches_are_normalised_in_turn(setup):
    cfg, task, rows = setup
    loader, raw, (x, targets, weights) = first_batches(cfg, task, rows, torch.device("cpu"))
    assert not loader.pin_memory and raw[0].dtype == torch.uint8
    assert x.dtype == torch.float32 and x.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(x, expected_images(cfg, raw[0]))
    assert torch.equal(targets, raw[1]) and torch.equal(weights, raw[2])


@pytest.mark.cuda
def test_on_a_gpu_batches_come_from_pinned_memory_and_are_normalised_there(setup):
    cfg, task, rows = setup
    loader, raw, (x, targets, weights) = first_batches(cfg, task, rows, torch.device("cuda"))
    assert loader.pin_memory and raw[0].is_pinned() and raw[0].dtype == torch.uint8
    assert x.is_cuda and targets.is_cuda and weights.is_cuda
    assert x.dtype == torch.float32 and x.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(x.cpu(), expected_images(cfg, raw[0]))
    assert torch.equal(targets.cpu(), raw[1])
