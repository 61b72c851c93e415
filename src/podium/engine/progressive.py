"""Progressive resizing (`train.stages`): which image size each epoch trains at, and the
learning-rate schedule across the stages.

The decode cache holds one size (`data.cache_size`, default `data.image_size`); each stage's
loader resizes from it, so no stage re-decodes. Validation, `best.pt` selection and inference
all run at `data.image_size` (the last stage's size): a checkpoint kept in an early stage is
judged at the size it will predict at.

Schedule: consecutive stages without `lr` share one schedule (warmup once, decay over their
epochs together); a stage with `lr` starts a new one at that peak LR. Each segment's
scheduler counts epochs and updates from the segment's start, and a resumed run rebuilds the
segment it stopped in, so resume stays exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from podium.config import TrainConfig
from podium.engine.optim import LRSchedule, build_scheduler


@dataclass(frozen=True)
class Segment:
    """Epochs [start, stop) under one schedule, peaking at `lr`."""

    start: int
    stop: int
    lr: float


def stage_sizes(tc: TrainConfig, final: tuple[int, int]) -> list[tuple[int, int]]:
    """The image size of every epoch (0-based index): `final` without stages."""
    if not tc.stages:
        return [final] * tc.epochs
    sizes: list[tuple[int, int]] = []
    for stage in tc.stages:
        sizes += [stage.image_size or final] * stage.epochs
    return sizes


def segments(tc: TrainConfig) -> list[Segment]:
    """The schedule's segments: one for the whole run unless a stage sets `lr`."""
    bounds: list[tuple[int, float]] = [(0, tc.lr)]
    epoch = 0
    for i, stage in enumerate(tc.stages or []):
        if stage.lr is not None:
            if i == 0:
                bounds[0] = (0, stage.lr)
            else:
                bounds.append((epoch, stage.lr))
        epoch += stage.epochs
    stops = [b[0] for b in bounds[1:]] + [tc.epochs]
    return [Segment(start, stop, lr) for (start, lr), stop in zip(bounds, stops, strict=True)]


class StagedScheduler:
    """timm's scheduler interface over the segments: `step(epoch)` / `step_update(n)` go to
    the segment holding the epoch, with epochs and updates counted from its start."""

    def __init__(
        self, optimizer: torch.optim.Optimizer, tc: TrainConfig, updates_per_epoch: int
    ) -> None:
        self.optimizer, self.tc, self.updates_per_epoch = optimizer, tc, updates_per_epoch
        self.segments = segments(tc)
        # each group's LR relative to train.lr (the backbone's `backbone_lr_mult`)
        self.mults = [g.get("initial_lr", g["lr"]) / tc.lr for g in optimizer.param_groups]
        self.index = -1
        self.inner = self._enter(0)

    def _enter(self, index: int) -> LRSchedule:
        segment = self.segments[index]
        for group, mult in zip(self.optimizer.param_groups, self.mults, strict=True):
            group["lr"] = group["initial_lr"] = segment.lr * mult
        self.index = index
        tc = self.tc.model_copy(
            update={"epochs": segment.stop - segment.start, "lr": segment.lr, "stages": None}
        )
        return build_scheduler(self.optimizer, tc, self.updates_per_epoch)

    def _segment_of(self, epoch: int) -> int:
        return max(i for i, s in enumerate(self.segments) if s.start <= epoch)

    def begin_epoch(self, epoch: int) -> None:
        """Called before epoch `epoch` (0-based) trains: enter its segment on a restart."""
        index = self._segment_of(epoch)
        if index != self.index:
            self.inner = self._enter(index)

    def step(self, epoch: int, metric: float | None = None) -> None:
        if epoch < self.segments[-1].stop:  # the epoch that ends a segment steps the next one
            self.begin_epoch(epoch)
        self.inner.step(epoch - self.segments[self.index].start, metric)

    def step_update(self, num_updates: int, metric: float | None = None) -> None:
        offset = self.segments[self.index].start * self.updates_per_epoch
        self.inner.step_update(num_updates - offset, metric)

    def state_dict(self) -> dict:
        return {"segment": self.index, "inner": self.inner.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        lrs = [g["lr"] for g in self.optimizer.param_groups]  # as the optimizer's state left them
        self.inner = self._enter(state["segment"])
        for group, lr in zip(self.optimizer.param_groups, lrs, strict=True):
            group["lr"] = lr
        self.inner.load_state_dict(state["inner"])
