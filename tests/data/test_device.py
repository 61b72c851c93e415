"""The device end of the data path: uint8 NHWC batches become normalised float NCHW."""

from __future__ import annotations

import numpy as np
import torch

from podium.data.device import Normalizer


def test_uint8_batches_are_normalised_on_the_device():
    batch = np.zeros((2, 4, 6, 3), np.uint8)
    batch[..., 0] = 255
    norm = Normalizer((0.5, 0.5, 0.5), (0.25, 0.5, 0.5), torch.device("cpu"), channels_last=True)
    x = norm(batch)
    assert x.shape == (2, 3, 4, 6) and x.dtype == torch.float32
    assert x.is_contiguous(memory_format=torch.channels_last)
    assert torch.allclose(x[:, 0], torch.full((2, 4, 6), 2.0))  # (1 - 0.5) / 0.25
    assert torch.allclose(x[:, 1], torch.full((2, 4, 6), -1.0))  # (0 - 0.5) / 0.5
    assert torch.equal(norm(torch.from_numpy(batch)), x)  # tensors and arrays alike


def test_batches_of_another_size_are_resized():
    norm = Normalizer((0, 0, 0), (1, 1, 1), torch.device("cpu"), False, size=(8, 8))
    x = norm(np.full((1, 16, 12, 3), 51, np.uint8))
    assert x.shape == (1, 3, 8, 8) and torch.allclose(x, torch.full_like(x, 0.2))


def test_any_channel_count_is_normalised_per_channel():
    batch = np.zeros((2, 4, 4, 4), np.uint8)
    batch[..., 3] = 255
    norm = Normalizer((0.0, 0.0, 0.0, 0.5), (1, 1, 1, 0.5), torch.device("cpu"), False)
    x = norm(batch)
    assert x.shape == (2, 4, 4, 4)
    assert torch.allclose(x[:, 3], torch.ones(2, 4, 4)) and torch.all(x[:, :3] == 0)
    grey = Normalizer((0.5,), (0.25,), torch.device("cpu"), False)(
        np.full((1, 2, 2, 1), 255, np.uint8)
    )
    assert grey.shape == (1, 1, 2, 2) and torch.allclose(grey, torch.full_like(grey, 2.0))
