"""The training dataset and its sampler: seeded per sample (augmentations replay exactly on
resume), and the class-balanced sampler's up- and down-sampling."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from podium.config import AugmentConfig
from podium.data.augment import build_train_transform
from podium.data.dataset import EpochSampler, ImageDataset, balanced_indices, train_loader

LABELS = np.array([0] * 10 + [1] * 4 + [2] * 2)


def dataset(n: int = 16, size: int = 12, augment: bool = False, image_size=None) -> ImageDataset:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (n, size, size, 3), dtype=np.uint8)
    targets = np.eye(3, dtype=np.float32)[LABELS[:n] if n <= len(LABELS) else rng.integers(0, 3, n)]
    transform = (
        build_train_transform([AugmentConfig(name="Affine", rotate=[-40, 40], p=1.0)], (size, size))
        if augment
        else None
    )
    return ImageDataset(images, targets, None, transform, image_size)


def test_items_are_uint8_images_with_soft_targets_and_weights():
    ds = dataset(image_size=(8, 8))
    image, target, weight = ds[3]
    assert image.dtype == torch.uint8 and image.shape == (8, 8, 3)  # resized to image_size
    assert target.tolist() == [1.0, 0.0, 0.0] and weight.item() == 1.0
    weighted = ImageDataset(ds.images, ds.targets.numpy(), np.full(16, 0.5))
    assert weighted[0][2].item() == 0.5


def test_augmentation_depends_only_on_the_sample_seed():
    ds = dataset(augment=True)
    a, b, c = ds[(2, 123)][0], ds[(2, 123)][0], ds[(2, 124)][0]
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert torch.equal(dataset()[2][0], torch.from_numpy(ds.images[2]))  # no transform: as stored


def test_read_only_cache_rows_are_served_without_a_torch_warning(tmp_path, recwarn):
    images = np.lib.format.open_memmap(tmp_path / "c.npy", "w+", np.uint8, (4, 6, 6, 3))
    images[:] = 7
    read_only = np.load(tmp_path / "c.npy", mmap_mode="r")  # how the cache is opened
    image = ImageDataset(read_only, np.eye(4, dtype=np.float32))[1][0]
    assert image.sum().item() == 7 * 6 * 6 * 3
    assert not [w for w in recwarn if "not writable" in str(w.message)]


def test_upsampling_draws_every_class_to_the_largest():
    idx = balanced_indices(LABELS, "upsample", np.random.default_rng(0))
    assert np.bincount(LABELS[idx]).tolist() == [10, 10, 10]
    assert set(idx[LABELS[idx] == 0]) == set(range(10))  # the largest class: each row once


def test_downsampling_draws_every_class_to_the_smallest_without_repeats():
    idx = balanced_indices(LABELS, "downsample", np.random.default_rng(0))
    assert np.bincount(LABELS[idx]).tolist() == [2, 2, 2]
    assert len(set(idx)) == len(idx)


@pytest.mark.parametrize("balance, epoch_size", [("none", 16), ("upsample", 30), ("downsample", 6)])
def test_sampler_order_is_a_function_of_seed_and_epoch(balance, epoch_size):
    sampler = EpochSampler(16, seed=3, labels=LABELS, balance=balance)
    first = list(sampler)
    assert len(first) == len(sampler) == epoch_size
    assert list(EpochSampler(16, seed=3, labels=LABELS, balance=balance)) == first
    sampler.set_epoch(1)
    second = list(sampler)
    assert [i for i, _ in second] != [i for i, _ in first]
    sampler.set_epoch(0)
    assert list(sampler) == first  # what a resumed run replays
    if balance == "none":
        assert sorted(i for i, _ in first) == list(range(16))


def test_balanced_sampler_needs_labels():
    with pytest.raises(ValueError, match="labels"):
        EpochSampler(16, seed=0, balance="upsample")


def test_loader_drops_the_last_partial_batch():
    ds = dataset()
    loader = train_loader(ds, EpochSampler(16, 0), 6, 0, pin_memory=False, drop_last=True)
    shapes = [images.shape for images, _, _ in loader]
    assert shapes == [(6, 12, 12, 3), (6, 12, 12, 3)]
