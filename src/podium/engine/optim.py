"""Optimizers and schedules, from timm's factories.

Discriminative learning rates: the backbone's parameter groups get `lr * backbone_lr_mult`,
the head gets `lr`. timm's schedulers scale each group from its own initial lr, so the ratio
holds through warmup and decay. `onecycle` is torch's OneCycleLR behind timm's interface.
`flat_cosine` holds the LR flat for `flat_fraction` of the run, then follows a cosine to
`min_lr` (timm's Scheduler base, per update). `cycles: K` makes `cosine` restart K times
(timm's cycle_limit, each cycle `epochs / K` long): the snapshot-ensemble schedule.
"""

from __future__ import annotations

import math
from typing import Any, Protocol, cast

import torch
from timm.optim import create_optimizer_v2
from timm.scheduler import create_scheduler_v2
from timm.scheduler.scheduler import Scheduler

from podium.config import ConfigError, TrainConfig
from podium.models import head_parameters


def param_groups(model: torch.nn.Module, cfg: TrainConfig) -> list[dict]:
    """Four groups: (backbone | head) x (decayed | not decayed: biases and norm weights)."""
    head = head_parameters(model)
    groups: dict[tuple[bool, bool], list] = {}
    for p in model.parameters():
        no_decay = p.ndim <= 1
        groups.setdefault((id(p) in head, no_decay), []).append(p)
    out = []
    for (is_head, no_decay), params in groups.items():
        lr = cfg.lr if is_head or not head else cfg.lr * cfg.backbone_lr_mult
        out.append(
            {"params": params, "lr": lr, "weight_decay": 0.0 if no_decay else cfg.weight_decay}
        )
    return out


def build_optimizer(model: torch.nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    kwargs: dict[str, Any] = (
        {"momentum": cfg.momentum} if cfg.optimizer in ("sgd", "momentum", "nesterov") else {}
    )
    try:
        return create_optimizer_v2(
            param_groups(model, cfg),
            opt=cfg.optimizer,
            lr=cfg.lr,
            weight_decay=cfg.weight_decay,
            **kwargs,
        )
    except (ValueError, AssertionError) as e:
        raise ConfigError(f"train.optimizer={cfg.optimizer!r}: {e}") from None


class LRSchedule(Protocol):
    """timm's scheduler interface, which every schedule here has: stepped per epoch and per
    optimizer update, with a state dict for resumes."""

    def step(self, epoch: int, metric: float | None = None) -> None: ...

    def step_update(self, num_updates: int, metric: float | None = None) -> None: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any], /) -> None: ...


class OneCycle:
    """torch's OneCycleLR stepped per update, with timm's scheduler interface."""

    def __init__(self, optimizer: torch.optim.Optimizer, cfg: TrainConfig, updates_per_epoch: int):
        total = max(1, cfg.epochs * updates_per_epoch)
        self.sched = torch.optim.lr_scheduler.OneCycleLR(
            optimizer,
            max_lr=[g["lr"] for g in optimizer.param_groups],
            total_steps=total + 1,
            pct_start=min(0.5, max(cfg.warmup_epochs * updates_per_epoch / total, 1 / total)),
        )

    def step(self, epoch: int, metric: float | None = None) -> None:
        pass

    def step_update(self, num_updates: int, metric: float | None = None) -> None:
        self.sched.step()

    def state_dict(self) -> dict:
        return self.sched.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.sched.load_state_dict(state)


class FlatCosine(Scheduler):
    """Linear warmup, flat at each group's initial LR until `flat_fraction` of the updates,
    then a half cosine to `min_lr` at the last update. Stepped per update (`t` = updates)."""

    def __init__(self, optimizer: torch.optim.Optimizer, cfg: TrainConfig, updates_per_epoch: int):
        self.total = max(1, cfg.epochs * updates_per_epoch)
        self.warmup = round(cfg.warmup_epochs * updates_per_epoch)
        self.flat_end = max(self.warmup, round(cfg.flat_fraction * self.total))
        self.warmup_lr, self.min_lr = cfg.lr * 1e-3, cfg.min_lr
        super().__init__(optimizer, "lr", t_in_epochs=False)
        if self.warmup:  # start the first update at the warmup LR, as timm's schedulers do
            self.update_groups(self._get_lr(0))

    def _get_lr(self, t: int) -> list[float]:
        if t < self.warmup:
            return [
                self.warmup_lr + (b - self.warmup_lr) * t / self.warmup for b in self.base_values
            ]
        if t < self.flat_end:
            return list(self.base_values)
        progress = min(1.0, (t - self.flat_end) / max(1, self.total - self.flat_end))
        cos = 0.5 * (1 + math.cos(math.pi * progress))
        return [self.min_lr + (b - self.min_lr) * cos for b in self.base_values]


class NoSchedule:
    def step(self, epoch: int, metric: float | None = None) -> None:
        pass

    def step_update(self, num_updates: int, metric: float | None = None) -> None:
        pass

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


def build_scheduler(
    optimizer: torch.optim.Optimizer, cfg: TrainConfig, updates_per_epoch: int
) -> LRSchedule:
    if cfg.scheduler == "none":
        return NoSchedule()
    if cfg.scheduler == "onecycle":
        return OneCycle(optimizer, cfg, updates_per_epoch)
    if cfg.scheduler == "flat_cosine":
        return FlatCosine(optimizer, cfg, updates_per_epoch)
    scheduler, _ = create_scheduler_v2(
        optimizer,
        sched=cfg.scheduler,
        num_epochs=cfg.epochs // cfg.cycles,  # one cycle's length (validated to divide)
        cycle_limit=cfg.cycles,
        cycle_decay=cfg.cycle_decay,  # timm's default (0.1) would cut each restart's peak
        # timm annotates int, but per-update steps take fractional warmup (x updates_per_epoch)
        warmup_epochs=cfg.warmup_epochs,  # type: ignore[arg-type]
        warmup_lr=cfg.lr * 1e-3,
        min_lr=cfg.min_lr,
        decay_epochs=max(1, cfg.epochs // 3),
        step_on_epochs=False,  # per-update: smooth warmup even over few epochs
        updates_per_epoch=updates_per_epoch,
    )
    return cast(LRSchedule, scheduler)  # timm's create_scheduler_v2 is untyped
