"""Timing a benchmark's phase: wall and CPU seconds between two device synchronisations, and
the phase's peak memory (the GPU's allocations on CUDA; the process's peak RSS on the CPU).

On a CPU shared with other jobs wall-clock rates swing with their load; the CPU seconds of
this process are the steadier measure of the work a phase did when it runs no worker
processes (loader workers' CPU time is not counted)."""

from __future__ import annotations

import contextlib
import platform
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work (a no-op on the CPU, which runs it in turn)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class PeakMemory:
    """Peak device memory on CUDA; on the CPU, the main process's peak RSS since `reset`
    (Linux lets a process reset its VmHWM; elsewhere the lifetime peak is reported)."""

    def __init__(self, device: torch.device) -> None:
        self.device = device

    def reset(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
            return
        with contextlib.suppress(OSError):
            Path("/proc/self/clear_refs").write_text("5")

    def gib(self) -> float:
        if self.device.type == "cuda":
            return torch.cuda.max_memory_allocated(self.device) / 2**30
        try:
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 2**20
        except OSError:
            pass
        scale = 1 if platform.system() == "Darwin" else 1024  # bytes on macOS, KiB on Linux
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**30


@dataclass
class Phase:
    """What one phase processed: images, wall seconds, peak memory (GiB), CPU seconds of
    this process, and whatever else the phase reports (`extra`)."""

    images: int
    seconds: float
    peak_gib: float
    cpu_seconds: float
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.images / self.seconds

    @property
    def cpu_rate(self) -> float:
        return self.images / self.cpu_seconds


def timed(device: torch.device, memory: PeakMemory, run: Callable[[], int]) -> Phase:
    """Run `run` (which returns the images it processed) between two device syncs."""
    memory.reset()
    synchronize(device)
    t0, c0 = time.perf_counter(), time.process_time()
    images = run()
    synchronize(device)
    return Phase(images, time.perf_counter() - t0, memory.gib(), time.process_time() - c0)
