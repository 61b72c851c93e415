"""The device prefetcher: on the CPU a lazy pass-through (same batches, same order); on a
GPU the overlapped path must give exactly what preparing each batch in turn gives."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from podium.data.dataset import EpochSampler, ImageDataset, train_loader
from podium.data.device import Normalizer
from podium.data.prefetch import DevicePrefetcher
from podium.engine.precision import resolve_precision
from podium.engine.predict import predict_logits


def loader(pin: bool, n: int = 40, batch: int = 8):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, 16, 16, 3), dtype=np.uint8)
    targets = np.eye(4, dtype=np.float32)[rng.integers(0, 4, n)]
    return train_loader(
        ImageDataset(images, targets), EpochSampler(n, 0), batch, 0, pin, drop_last=True
    )


def preparer(device: torch.device):
    normalize = Normalizer((0.5, 0.4, 0.3), (0.2, 0.2, 0.2), device, channels_last=True)

    def prepare(batch):
        images, targets, weights = batch
        return normalize(images), targets.to(device, non_blocking=True), weights.to(device)

    return prepare


def test_on_the_cpu_it_prepares_each_batch_in_order_when_asked():
    batches = loader(pin=False)
    calls = []

    def prepare(batch):
        calls.append(batch[0])
        return batch[0].float() + 1

    prefetcher = DevicePrefetcher(batches, prepare, torch.device("cpu"))
    assert len(prefetcher) == len(batches) == 5
    it = iter(prefetcher)
    first = next(it)
    assert len(calls) == 1  # lazy: nothing prepared ahead on the CPU
    rest = list(it)
    expected = [b[0].float() + 1 for b in batches]  # the sampler's order is fixed per epoch
    for got, want in zip([first, *rest], expected, strict=True):
        assert torch.equal(got, want)


def test_an_iterable_without_length_is_iterated_but_has_no_len():
    prefetcher = DevicePrefetcher(iter([1, 2, 3]), lambda b: b * 2, torch.device("cpu"))
    with pytest.raises(TypeError, match="no length"):
        len(prefetcher)
    assert list(prefetcher) == [2, 4, 6]


@pytest.mark.cuda
def test_on_a_gpu_the_overlapped_batches_equal_the_ones_prepared_in_turn():
    device = torch.device("cuda")
    prepare = preparer(device)
    direct = [prepare(b) for b in loader(pin=True)]
    # heavy work on the compute stream between batches: a missing stream wait would show
    busy = torch.randn(2048, 2048, device=device)
    got = []
    for batch in DevicePrefetcher(loader(pin=True), prepare, device):
        for _ in range(5):
            busy = (busy @ busy).tanh()
        got.append([t.clone() for t in batch])
    assert len(got) == len(direct)
    for a, b in zip(got, direct, strict=True):
        for x, y in zip(a, b, strict=True):
            assert x.device.type == "cuda" and torch.equal(x, y)
    assert got[0][0].is_contiguous(memory_format=torch.channels_last)


@pytest.mark.cuda
def test_gpu_predictions_match_the_cpu_in_every_view_and_batch_size():
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3),
        torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(),
        torch.nn.Linear(8, 5),
    )
    images = np.random.default_rng(1).integers(0, 256, (70, 16, 16, 3), dtype=np.uint8)
    views = ["identity", "hflip"]

    def run(device: torch.device, batch: int) -> np.ndarray:
        normalize = Normalizer((0.5,) * 3, (0.25,) * 3, device, channels_last=False)
        precision = resolve_precision(device, "fp32")
        return predict_logits(model.to(device), images, normalize, precision, views, batch)

    on_cpu = run(torch.device("cpu"), 16)
    for batch in (16, 33, 100):  # TF32 convolutions: close, not equal; a misplaced batch is not
        np.testing.assert_allclose(run(torch.device("cuda"), batch), on_cpu, rtol=1e-2, atol=1e-2)
