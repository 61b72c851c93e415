"""The training loop: one fold x seed unit, from a fresh start or resumed from `last.pt`.

The loop (with its step, `engine/step.py`) owns precision, channels_last, optional
torch.compile, gradient accumulation and clipping, EMA, mixup/cutmix, the frozen-backbone
warmup, gradual unfreezing and BatchNorm freeze (`freezing`), SWA (`swa`), snapshots at the
end of each warm-restart cycle, early stopping, best/last checkpoints (metric ties broken by
the validation loss: `selection`), per-epoch history and seeding, for every task: what differs
is behind the Task seam (the samples, `inputs.train_dataset`: target rows, or masks resized
with their image; the loss; the validation targets and the per-epoch score, `Task.monitor`,
over (N, C) logits or segmentation's (N, C, h, w) maps). Its one hook,
`on_epoch_end(epoch, metrics)`, lets a caller (tune) report and prune without the engine
knowing Optuna.

Synchronisation: the per-step loss is accumulated on the device and read once per epoch;
no `.item()` inside the step loop. On a GPU the next batch is copied and normalised on a side
stream while the current one computes (`inputs.device_batches`); on the CPU they come in turn.
The step itself (forward, loss, backward, optimizer, EMA) is `engine/step.py`'s `TrainStep`.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from podium import progress
from podium.artifacts import write_csv, write_json
from podium.config import Config
from podium.data.dataset import EpochSampler
from podium.data.device import Normalizer
from podium.data.prefetch import DevicePrefetcher
from podium.engine import averaging, distributed
from podium.engine.checkpoint import load_checkpoint, save_checkpoint
from podium.engine.freezing import set_trainable, train_mode, unfreeze_schedule
from podium.engine.inputs import build_train_loader, device_batches
from podium.engine.network import build_model
from podium.engine.optim import build_scheduler
from podium.engine.precision import resolve_device, resolve_precision
from podium.engine.predict import predict_logits
from podium.engine.progressive import StagedScheduler, stage_sizes
from podium.engine.rows import TrainRows, ValidRows
from podium.engine.seeding import derive_seed, seed_everything
from podium.engine.selection import is_improvement
from podium.engine.step import build_step
from podium.engine.swa import Swa, recompute_batchnorm
from podium.errors import DivergedError
from podium.fingerprint import Stamp
from podium.tasks import Task

_log = logging.getLogger(__name__)

__all__ = ["EpochHook", "Interrupted", "TrainRows", "ValidRows", "build_model", "fit"]

EpochHook = Callable[[int, dict[str, float]], None]


class Interrupted(RuntimeError):
    """Raised by the `train.stop_after_epoch` test hook, as if the process had been killed."""


def fit(
    cfg: Config,
    task: Task,
    train: TrainRows,
    valid: ValidRows,
    unit_dir: Path,
    seed: int,
    on_epoch_end: EpochHook | None = None,
    stamp: Stamp | None = None,
) -> dict[str, Any]:
    """Train one unit into `unit_dir` (best.pt, last.pt, history.csv, result.json). With a
    `stamp`, result.json also records the fingerprint of what the unit was trained from."""
    tc = cfg.train
    num_outputs = task.num_outputs
    metric = task.monitor  # the per-epoch score (the metric, or segmentation's Dice at 0.5)
    device = distributed.device_of(resolve_device(tc.device))
    precision = resolve_precision(device, tc.precision)
    unit_dir.mkdir(parents=True, exist_ok=True)

    # --- model and step, in a fixed order: seed -> create -> device -> EMA -> DDP/compile ------
    model = build_model(cfg, num_outputs, device, seed, train.metadata_stats)
    step = build_step(cfg, task, train, model, device)  # loss, mixup, optimizer, grad scaler
    ema, optimizer, scaler = step.ema, step.optimizer, step.scaler

    # --- data: one loader per image size (`train.stages`), the same order at every size ----
    def feed(size: tuple[int, int]) -> tuple[DataLoader, EpochSampler, DevicePrefetcher]:
        loader, sampler = build_train_loader(cfg, task, train, derive_seed(seed, 1), device, size)
        return loader, sampler, device_batches(cfg, loader, device)

    sizes = stage_sizes(tc, cfg.data.image_size)
    size = sizes[0]
    loader, sampler, batches = feed(size)
    steps_per_epoch = len(loader)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed input shapes: pick the fastest kernels
    eval_normalize = Normalizer(
        cfg.data.mean, cfg.data.std, device, tc.channels_last, cfg.data.image_size
    )

    def evaluate(net: torch.nn.Module) -> np.ndarray:  # logits (N, C[, h, w]), all ranks'
        views, rows = ["identity"], distributed.row_range(len(valid.images))
        meta = valid.metadata[rows] if valid.metadata is not None else None
        part = predict_logits(
            net, valid.images[rows], eval_normalize, precision, views, cfg.infer.batch_size, meta
        )[0]
        return distributed.gather_rows(part, len(valid.images))

    # --- schedules ----------------------------------------------------------------------------
    swa = Swa(model, optimizer, tc) if tc.swa is not None else None  # before the LRs move
    unfreeze = unfreeze_schedule(model, tc)
    updates_per_epoch = max(1, math.ceil(len(loader) / tc.grad_accum))
    schedule = StagedScheduler if tc.stages else build_scheduler
    scheduler = schedule(optimizer, tc, updates_per_epoch)

    # --- resume ---------------------------------------------------------------------------------
    start_epoch, best_score, best_epoch, bad_epochs = 0, None, -1, 0
    best_loss: float | None = None  # breaks ties of the metric (a saturated AUC, accuracy)
    history: list[dict[str, float]] = []
    last_path = unit_dir / "last.pt"
    if last_path.exists():
        state = load_checkpoint(last_path, device)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        scaler.load_state_dict(state["scaler"])
        if ema is not None:
            ema.module.load_state_dict(state["ema"])  # its warmup reads num_updates
        if swa is not None:
            swa.load_state_dict(state["swa"])
        start_epoch, step.num_updates = state["epoch"] + 1, state["num_updates"]
        best_score, best_epoch, bad_epochs = (
            state["best_score"],
            state["best_epoch"],
            state["bad_epochs"],
        )
        best_loss = state.get("best_loss")
        history = state["history"]
        _log.info("  resuming %s at epoch %d/%d", unit_dir, start_epoch + 1, tc.epochs)

    started = time.time()
    for epoch in range(start_epoch, tc.epochs):
        if _should_stop(bad_epochs, tc.early_stopping_patience):
            break
        t0 = time.time()
        seed_everything(derive_seed(seed, epoch, 2))
        if sizes[epoch] != size:  # a new progressive stage
            size = sizes[epoch]
            loader, sampler, batches = feed(size)
        sampler.set_epoch(epoch)
        set_trainable(model, tc, epoch, unfreeze)
        train_mode(model, tc.freeze_bn)
        swa_epoch = swa is not None and swa.begin_epoch(epoch)  # SWALR sets this epoch's LR
        loss_sum = torch.zeros((), device=device)
        n_batches = 0
        bar = tqdm(
            batches,
            desc=f"epoch {epoch + 1}/{tc.epochs}",
            leave=False,
            disable=not (tc.progress and progress.bars()),
        )
        optimizer.zero_grad(set_to_none=True)
        loop_started = time.perf_counter()
        for i, (x, targets, weights, *metadata) in enumerate(bar):
            sync = (i + 1) % tc.grad_accum == 0 or i + 1 == steps_per_epoch
            loss_sum += step(x, targets, weights, metadata, sync)
            n_batches += 1
            if sync and not swa_epoch:
                scheduler.step_update(num_updates=step.num_updates)
        train_loss = float(distributed.mean_over_ranks(loss_sum / max(1, n_batches)).item())
        loop_seconds = time.perf_counter() - loop_started
        images_seen = n_batches * distributed.global_batch(loader)

        # --- validate the weights that would be kept (EMA when on) -----------------------------
        eval_model = ema.module if ema is not None else model
        pred = task.activate(evaluate(eval_model))
        _stop_on_a_non_finite_loss(train_loss, pred, scaler.is_enabled(), unit_dir, epoch)
        score = metric(valid.y, pred)
        row = {
            "epoch": epoch + 1,
            "train_loss": train_loss,
            "valid_loss": task.valid_loss(valid.y, pred),
            f"valid_{metric.name}": score,
            "lr": max(g["lr"] for g in optimizer.param_groups),
            "seconds": round(time.time() - t0, 2),
        }
        history.append(row)
        if swa is not None and swa_epoch:
            swa.end_epoch(model)
        else:
            scheduler.step(epoch + 1, score)
        averaging.save_snapshot(unit_dir, tc, epoch, eval_model, score)
        loss = row["valid_loss"]
        if is_improvement(score, loss, best_score, best_loss, metric.greater_is_better):
            best_score, best_loss, best_epoch, bad_epochs = score, loss, epoch + 1, 0
            save_checkpoint(
                unit_dir / "best.pt",
                {"model": eval_model.state_dict(), "epoch": epoch + 1, "score": score},
            )
        else:
            bad_epochs += 1
        save_checkpoint(
            last_path,
            {
                "model": model.state_dict(),
                "ema": ema.module.state_dict() if ema is not None else None,
                "swa": swa.state_dict() if swa is not None else None,
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "scaler": scaler.state_dict(),
                "epoch": epoch,
                "num_updates": step.num_updates,
                "best_score": best_score,
                "best_loss": best_loss,
                "best_epoch": best_epoch,
                "bad_epochs": bad_epochs,
                "history": history,
            },
        )
        distributed.on_main(write_csv, unit_dir / "history.csv", pd.DataFrame(history))
        if tc.progress:
            _log.info(
                f"  epoch {epoch + 1:>3}/{tc.epochs}  loss {row['train_loss']:.4f}  "
                f"valid {metric.name} {score:.4f}  {task.valid_loss.name} {row['valid_loss']:.4f}  {row['seconds']:.1f}s"
                f"  ({images_seen / loop_seconds:,.0f} img/s)"
            )
        if on_epoch_end is not None:
            # plus the step loop's own timing (loader included; validation and checkpoints
            # not), which varies run to run and so stays out of the history
            timing = {"train_loop_seconds": loop_seconds, "train_images": images_seen}
            on_epoch_end(epoch, {**row, **timing})
        if (
            tc.stop_after_epoch is not None
            and epoch + 1 >= tc.stop_after_epoch
            and epoch + 1 < tc.epochs
        ):
            distributed.current().barrier()  # every rank stops after rank 0 wrote last.pt
            raise Interrupted(f"stopped after epoch {epoch + 1} (train.stop_after_epoch)")

    def recompute_bn(module: torch.nn.Module) -> None:  # over a fixed, seeded pass
        seed_everything(derive_seed(seed, tc.epochs, 3))
        sampler.set_epoch(tc.epochs)
        recompute_batchnorm(module, batches, precision)

    extra = averaging.finish(cfg, task, valid.y, unit_dir, model, swa, evaluate, recompute_bn)
    result = {
        "best_score": best_score,
        "best_epoch": best_epoch,
        "epochs_run": len(history),
        "metric": metric.name,
        "final_score": history[-1][f"valid_{metric.name}"] if history else None,
        **extra,
        "train_seconds": round(time.time() - started, 2),
    }
    if stamp is not None:
        distributed.on_main(stamp.write, **result)
    else:
        distributed.on_main(write_json, unit_dir / "result.json", result)
    return result


def _stop_on_a_non_finite_loss(
    train_loss: float, pred: np.ndarray, scaled: bool, unit_dir: Path, epoch: int
) -> None:
    """A NaN or infinite epoch loss stops the unit before it saves NaN weights; with fp16's
    loss scaling (`scaled`) the overflowing steps were skipped, so only broken predictions
    stop it."""
    if np.isfinite(train_loss) or (scaled and np.isfinite(pred).all()):
        return
    raise DivergedError(
        f"{unit_dir}: the training loss is {train_loss} at epoch {epoch + 1}; training stopped "
        "(last.pt keeps the epoch before). Look for non-finite inputs, or lower train.lr, "
        "set train.clip_grad, or train.precision: fp32"
    )


def _should_stop(bad_epochs: int, patience: int | None) -> bool:
    return patience is not None and bad_epochs >= patience
