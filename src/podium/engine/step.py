"""One training step of a unit, and what it is built from: the forward pass under autocast
(through DDP under torchrun and torch.compile when on), the task's loss (distilled when the
rows carry a teacher's targets), mixup/cutmix, the scaled backward and, on an update's last
micro-step, clipping, the optimizer and grad-scaler step and the EMA update.

`build_step` makes it once per unit; `trainer.fit` calls it on every batch of its loader, and
`benchmarks/throughput.py` calls the very same step on a batch already on the device: the most
that podium's loop could deliver with a free data path (the limit its img/s is compared to).

Synchronisation: nothing here reads a value back to the host (no `.item()`); the step returns
the detached loss, which the loop sums on the device.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from timm.utils import ModelEmaV3

from podium.config import Config
from podium.engine import distributed
from podium.engine.distill import distilled
from podium.engine.mixing import SoftTargetMixup, build_mixup
from podium.engine.optim import build_optimizer
from podium.engine.precision import Precision, resolve_precision
from podium.engine.rows import TrainRows
from podium.tasks import Task


@dataclass
class TrainStep:
    """The step and the state it updates. `model` is the bare network (the optimizer, EMA
    and checkpoints use it, so state dicts carry no DDP or compile prefix); `forward` is what
    the step calls; `num_updates` counts optimizer steps (schedules and EMA warmup read it,
    resume restores it)."""

    model: torch.nn.Module
    forward: torch.nn.Module
    ema: ModelEmaV3 | None
    criterion: torch.nn.Module
    mixup: SoftTargetMixup | None
    optimizer: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    precision: Precision
    grad_accum: int
    clip_grad: float | None
    num_updates: int = 0

    def __call__(
        self,
        x: torch.Tensor,
        targets: torch.Tensor,
        weights: torch.Tensor,
        metadata: Sequence[torch.Tensor] = (),
        sync: bool = True,
    ) -> torch.Tensor:
        """One micro-step on a batch on the device; `sync` marks an update's last micro-step
        (the gradient all-reduce under DDP, then the optimizer step). Returns the batch's
        loss, detached, on the device."""
        if self.mixup is not None:  # pixels and targets; each row keeps its own metadata
            x, targets = self.mixup(x, targets)
        with self.precision.autocast(), distributed.micro_step(self.forward, sync):
            logits = self.forward(x, *metadata)
        loss: torch.Tensor = self.criterion(logits, targets, weights)
        self.scaler.scale(loss / self.grad_accum).backward()
        if sync:
            self._update()
        return loss.detach()

    def _update(self) -> None:
        if self.clip_grad:
            self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.clip_grad)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        self.num_updates += 1
        if self.ema is not None:
            self.ema.update(self.model, step=self.num_updates)


def build_step(
    cfg: Config, task: Task, train: TrainRows, model: torch.nn.Module, device: torch.device
) -> TrainStep:
    """The step for `model` (built by `network.build_model`: seeded, on `device`), in a fixed
    order: EMA after the move to the device and before DDP and compile wrap the model (timm's
    advice), then the loss (from the rows' targets: class weights, a teacher), mixup, the
    optimizer and the grad scaler (active for fp16 only)."""
    tc = cfg.train
    precision = resolve_precision(device, tc.precision)
    ema = ModelEmaV3(model, decay=tc.ema_decay, use_warmup=True) if tc.ema_decay else None
    forward = distributed.step_module(model, tc, device)  # DDP under torchrun; compiled
    criterion = distilled(task, tc, task.build_loss(tc, train.targets), train).to(device)
    return TrainStep(
        model=model,
        forward=forward,
        ema=ema,
        criterion=criterion,
        mixup=build_mixup(tc, task.num_outputs),
        optimizer=build_optimizer(model, tc),
        scaler=precision.grad_scaler(),
        precision=precision,
        grad_accum=tc.grad_accum,
        clip_grad=tc.clip_grad,
    )
