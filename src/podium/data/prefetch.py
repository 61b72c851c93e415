"""Moving batches to the device one step ahead of the compute that uses them.

On a GPU, the host->device copy of a pinned uint8 batch and its normalisation run on a side
CUDA stream while the model computes on the current stream, so the next step never waits
for its input. On the CPU there is nothing to overlap: the prefetcher is a plain
pass-through that prepares each batch when it is asked for it (same values, same order).

Why a side stream and not just `non_blocking=True`: a non-blocking copy on the compute
stream is still queued behind that stream's kernels, so copy and compute take turns; only a
second stream lets the copy engine work while the SMs do.

The trap (why `record_stream`): memory allocated on the side stream but used on the
compute stream must be marked as used there, or the caching allocator may hand it to the
next side-stream batch while the compute stream still reads it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sized
from typing import Any

import torch

Prepare = Callable[[Any], Any]


def _tensors(obj: Any) -> Iterator[torch.Tensor]:
    if isinstance(obj, torch.Tensor):
        yield obj
    elif isinstance(obj, list | tuple):
        for item in obj:
            yield from _tensors(item)
    elif isinstance(obj, dict):
        for item in obj.values():
            yield from _tensors(item)


class DevicePrefetcher:
    """Iterate `batches` (from a DataLoader or any iterable) and yield `prepare(batch)`, the
    batch on `device` ready for the model; on CUDA, batch i+1 is prepared on a side stream
    while batch i is consumed.

    `prepare` does the device work: typically `Normalizer` (uint8 NHWC -> normalised float
    NCHW) and `.to(device, non_blocking=True)` for the targets. Its inputs should come from
    pinned memory (`DataLoader(pin_memory=True)`), or the copies are not asynchronous.
    """

    def __init__(self, batches: Iterable, prepare: Prepare, device: torch.device) -> None:
        self.batches = batches
        self.prepare = prepare
        self.device = torch.device(device)

    def __len__(self) -> int:
        if not isinstance(self.batches, Sized):
            raise TypeError(f"{type(self.batches).__name__} has no length")
        return len(self.batches)

    def __iter__(self) -> Iterator[Any]:
        if self.device.type != "cuda":
            return (self.prepare(batch) for batch in self.batches)
        return self._overlapped()

    def _overlapped(self) -> Iterator[Any]:
        compute = torch.cuda.current_stream(self.device)
        side = torch.cuda.Stream(self.device)
        # the side stream may read what the compute stream wrote before (normaliser constants)
        side.wait_stream(compute)
        source = iter(self.batches)

        def ahead() -> Any:
            try:
                batch = next(source)
            except StopIteration:
                return None
            with torch.cuda.stream(side):
                return (self.prepare(batch),)

        pending = ahead()
        while pending is not None:
            compute.wait_stream(side)  # the compute stream waits for this batch only on the GPU
            ready = pending[0]
            for t in _tensors(ready):
                t.record_stream(compute)
            pending = ahead()  # next batch's copy is queued before this batch's compute
            yield ready
