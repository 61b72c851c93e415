"""Batched inference with TTA on the training data path (uint8 cache -> device -> normalise),
shared by validation in the engine, oof, infer and pseudo. Runs without autograd, under
autocast on GPUs, channels_last, in large batches, with the host's reading and copying
overlapped with the device's compute on GPUs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from podium.data.device import Normalizer
from podium.data.prefetch import DevicePrefetcher
from podium.data.tta import get_view
from podium.engine.precision import Precision


def _host_batches(images: np.ndarray, batch_size: int, pin: bool) -> Iterator[torch.Tensor]:
    """uint8 batches in table order. For a GPU they are copied straight from the cache (a
    memmap: read-only, maybe not yet in RAM) into pinned memory by a reader thread one batch
    ahead, so disk reads and host copies overlap the device's work (numpy and torch release
    the GIL while copying)."""
    starts = range(0, len(images), batch_size)
    if not pin:
        for start in starts:
            yield torch.from_numpy(np.array(images[start : start + batch_size]))
        return

    def read(start: int) -> torch.Tensor:
        part = images[start : start + batch_size]
        batch = torch.empty(part.shape, dtype=torch.uint8, pin_memory=True)
        np.copyto(batch.numpy(), part)
        return batch

    with ThreadPoolExecutor(max_workers=1) as reader:
        pending = reader.submit(read, starts[0]) if len(starts) else None
        for i in range(len(starts)):
            assert pending is not None  # submitted above whenever there is a batch
            batch = pending.result()
            if i + 1 < len(starts):
                pending = reader.submit(read, starts[i + 1])
            yield batch


def _metadata_batches(metadata: np.ndarray, batch_size: int) -> Iterator[torch.Tensor]:
    for start in range(0, len(metadata), batch_size):
        yield torch.as_tensor(metadata[start : start + batch_size], dtype=torch.float32)


def _with_metadata(
    normalizer: Normalizer, device: torch.device
) -> Callable[[tuple[torch.Tensor, torch.Tensor]], tuple[torch.Tensor, torch.Tensor]]:
    def prepare(batch: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        return normalizer(batch[0]), batch[1].to(device, non_blocking=True)

    return prepare


@torch.inference_mode()
def predict_logits(
    model: torch.nn.Module,
    images: np.ndarray,
    normalizer: Normalizer,
    precision: Precision,
    views: Sequence[str] = ("identity",),
    batch_size: int = 256,
    metadata: np.ndarray | None = None,
) -> np.ndarray:
    """Logits of every view: float32 array (V, N, C), or (V, N, C, h, w) for a segmentation
    network's maps (views are not undone here: the core validates on `identity`). With `metadata` (raw matrix (N, M),
    podium.data.metadata) the model is called as `model(view(x), metadata_batch)`: TTA views
    change the pixels only.

    Nothing in the loop waits for the device: logits go to (pinned) host memory with
    non-blocking copies and are read once at the end, so on a GPU the next batch's reading,
    copy and normalisation (`DevicePrefetcher`) overlap the current batch's forward passes.
    """
    fns = [get_view(v) for v in views]
    was_training = model.training
    model.eval()
    device = normalizer.device
    cuda = device.type == "cuda"
    host = _host_batches(images, batch_size, pin=cuda)
    batches = DevicePrefetcher(
        host
        if metadata is None
        else zip(host, _metadata_batches(metadata, batch_size), strict=True),
        normalizer if metadata is None else _with_metadata(normalizer, device),
        device,
    )
    out: torch.Tensor | None = None  # (V, N, C, ...), allocated once the output shape is known
    start = 0
    for batch in batches:
        x, extra = (batch, ()) if metadata is None else (batch[0], batch[1:])
        end = start + len(x)
        with precision.autocast():
            for v, fn in enumerate(fns):
                logits = model(fn(x), *extra).float()
                if out is None:
                    shape = (len(fns), len(images), *logits.shape[1:])
                    out = torch.empty(shape, dtype=torch.float32, pin_memory=cuda)
                out[v, start:end].copy_(logits, non_blocking=cuda)
        start = end
    if cuda:
        torch.cuda.current_stream(device).synchronize()  # the copies into `out` have landed
    model.train(was_training)
    if out is None:  # no images
        return np.zeros((len(fns), 0, 0), dtype=np.float32)
    # a copy hands the pinned block back to torch's cache for the next call
    return out.numpy().copy() if cuda else out.numpy()
