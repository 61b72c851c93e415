"""Stochastic weight averaging (`train.swa`) through `torch.optim.swa_utils`.

From epoch `swa.start_epoch` (1-based) the run's own schedule stops and `SWALR` takes the LR,
annealing it per epoch (cosine, over `anneal_epochs`) to `swa.lr` (the head's; the backbone
keeps its `backbone_lr_mult` ratio); at the end of every such epoch `AveragedModel` adds the
current weights to its running mean. The average is of the trained weights themselves, not
of the EMA's (EMA keeps deciding `best`/`last`; `checkpoint: swa` uses the SWA average).

BatchNorm statistics of the average are recomputed once, after the last epoch, by
`recompute_batchnorm`: podium's loader yields uint8 batches normalised on the device, so
`swa_utils.update_bn` (which feeds the loader's raw batches to the model) does not fit; the
same loop runs over podium's normalised training batches instead. With `train.freeze_bn`
the statistics stay the ones the backbone started with, as in the trained model.

Resume: the average (with its `n_averaged`) and SWALR's state live in last.pt.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch.optim.swa_utils import SWALR, AveragedModel

from podium.config import TrainConfig
from podium.engine.freezing import batchnorm_layers
from podium.engine.precision import Precision


class Swa:
    """The running average and its LR schedule for one unit."""

    def __init__(
        self, model: torch.nn.Module, optimizer: torch.optim.Optimizer, cfg: TrainConfig
    ) -> None:
        assert cfg.swa is not None
        self.cfg = cfg.swa
        self.optimizer = optimizer
        # each group's share of train.lr (discriminative LRs) carries over to swa.lr
        self.lrs = [cfg.swa.lr * g["lr"] / cfg.lr for g in optimizer.param_groups]
        self.averaged = AveragedModel(model)
        self.scheduler: SWALR | None = None

    def active(self, epoch: int) -> bool:
        """Whether 0-based `epoch` is an SWA epoch (SWALR sets its LR; it is averaged)."""
        return epoch + 1 >= self.cfg.start_epoch

    def begin_epoch(self, epoch: int) -> bool:
        """At the start of 0-based `epoch`: whether it is an SWA epoch; from the first one on,
        SWALR holds the LR (taking over from where the run's schedule left it)."""
        if not self.active(epoch):
            return False
        if self.scheduler is None:
            self.scheduler = self._swalr()
        return True

    def end_epoch(self, model: torch.nn.Module) -> None:
        """At the end of an SWA epoch: average the weights, anneal the LR one step."""
        self.averaged.update_parameters(model)
        assert self.scheduler is not None
        self.scheduler.step()

    @property
    def n_averaged(self) -> int:
        return int(self.averaged.n_averaged.item())

    @property
    def module(self) -> torch.nn.Module:
        return self.averaged.module

    def _swalr(self) -> SWALR:
        return SWALR(
            self.optimizer,
            swa_lr=self.lrs,  # type: ignore[arg-type]  # one per group, as documented
            anneal_epochs=self.cfg.anneal_epochs,
            anneal_strategy="cos",
        )

    def state_dict(self) -> dict[str, Any]:
        return {
            "averaged": self.averaged.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.averaged.load_state_dict(state["averaged"])
        if state["scheduler"] is not None:
            # built at its start (a no-op on the restored LRs), then its counters restored
            self.scheduler = self._swalr()
            self.scheduler.load_state_dict(state["scheduler"])


@torch.no_grad()
def recompute_batchnorm(
    model: torch.nn.Module, batches: Iterable[Any], precision: Precision
) -> None:
    """Reset every BatchNorm layer's running statistics and recompute them as the plain
    average over `batches` of (normalised images, ...) tuples: what `update_bn` does, for
    batches already on the device and normalised."""
    layers = batchnorm_layers(model)
    if not layers:
        return
    momenta = {}
    for m in layers:
        m.reset_running_stats()
        momenta[m] = m.momentum
        m.momentum = None  # cumulative moving average: every batch weighs the same
    was_training = model.training
    model.train()
    for batch in batches:
        with precision.autocast():
            model(batch[0], *batch[3:])  # (images, targets, weights[, metadata])
    for m, momentum in momenta.items():
        m.momentum = momentum
    model.train(was_training)
