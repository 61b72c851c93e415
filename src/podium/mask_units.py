"""Segmentation's units: training a fold x seed mask model and predicting probability maps,
behind `podium train`, `podium oof` and `podium infer` when the task is pixelwise.

- Data: (image, mask) pairs (`podium.mask_data.MaskDataset`), augmented together; a
  student's fold-k pseudo-masks (`podium.pseudo_masks.MaskPairs`, from `extra`) join fold
  k's training rows only, never its validation rows.
- Training: the task's loss (a sum of smp's losses) on the experiment's network
  (`model.arch` over a timm encoder, `podium.engine.network`), the configured optimizer and
  scheduler (`podium.engine.optim`), AMP where the device has it, EMA (`train.ema_decay`),
  gradient accumulation and clipping; after each epoch, the fold's
  mean Dice at threshold 0.5 picks `best.pt`. `result.json` is the unit's stamp
  (`podium.units.stamps`): a finished unit is skipped, one made from other inputs refused
  until `--force`; each unit trains under its lock (`units.train.unit_lock`).
- Prediction: a fold's maps over seeds and TTA views (`podium.mask_data.fold_maps`).
- OOF: fold k's maps from fold k's models, stored float16 (`podium.mask_store`); the
  post-processing decision (threshold, minimum area) fitted on the other folds decides fold
  k, so scores.json's CV is honest, with the in-sample value beside it.
- Infer: the test maps merged over folds, seeds and views.

A killed unit resumes from its `last.pt` (optimizer, scheduler and epoch with it) when its
inputs are unchanged (`started.json`). Not yet: SWA, mixup, progressive resizing, DDP
(refused at config time by the task).
"""

from __future__ import annotations

import logging
import math
import shutil
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import torch
from timm.utils import ModelEmaV3
from torch.utils.data import DataLoader

from podium.artifacts import read_json, write_csv, write_json
from podium.data.augment import build_train_transform
from podium.data.dataset import EpochSampler
from podium.engine.checkpoint import load_checkpoint, save_checkpoint
from podium.engine.network import build_model
from podium.engine.optim import build_optimizer, build_scheduler
from podium.engine.precision import resolve_device, resolve_precision
from podium.engine.seeding import derive_seed, seed_everything
from podium.engine.trainer import Interrupted
from podium.errors import ArtifactError
from podium.experiment import Experiment
from podium.fingerprint import Stamp
from podium.locks import exclusive
from podium.mask_data import (
    JoinedMasks,
    MaskDataset,
    fold_maps,
    merge_maps,
    normalizer_of,
    predict_maps,
    small_targets,
    unit_maps,
)
from podium.mask_scores import oof_scores
from podium.mask_store import OOF_MAPS, TEST_MAPS, bytes_per_image, write_maps
from podium.metrics.segmentation import mean_dice
from podium.pseudo_masks import MaskPairs
from podium.units.stamps import mask_infer_stamp, mask_oof_stamp, unit_stamp
from podium.units.train import prepare, unit_lock

_log = logging.getLogger(__name__)


# ---- train ------------------------------------------------------------------------------------
Extra = Callable[[int], MaskPairs | None]  # fold k -> its pseudo pairs (pseudo-labels)
EpochHook = Callable[[int, dict[str, float]], None]  # (0-based epoch, history row): tune


def train(
    exp: Experiment,
    force: bool = False,
    fold: int | None = None,
    seed: int | None = None,
    extra: Extra | None = None,
    extra_fingerprint: str | None = None,
    on_epoch_end: EpochHook | None = None,
    lock_wait: float = 0.0,
) -> dict[tuple[int, int], dict]:
    """Every unit (or one), skipping fresh ones. `extra(k)`: fold k's pseudo pairs, trained
    on besides its labelled rows (never validated on), `extra_fingerprint` their stamp part;
    `on_epoch_end` sees each epoch's history row; `lock_wait`: how long to wait for a unit
    another process trains (tune's retries wait)."""
    cfg = exp.cfg
    stamps = {
        (f, s): unit_stamp(exp, f, s, extra_fingerprint, None) for f, s in exp.units(fold, seed)
    }
    prepare(exp, start_over=force and fold is None and seed is None)
    results = {}
    for (f, s), stamp in stamps.items():
        # two processes (`--fold K` in parallel) never train one unit together
        what = f"unit fold {f} seed {s} of {cfg.name}"
        with exclusive(unit_lock(exp, f, s), what, wait=lock_wait):
            if stamp.fresh() and not force:
                _log.info("train %s fold %d seed %d: done, skipped", cfg.name, f, s)
                continue
            if stamp.path.exists() and not force:
                raise ArtifactError(
                    f"{stamp.path.parent} was trained from other inputs "
                    f"({', '.join(stamp.changed())} changed since); re-run with --force to "
                    "retrain it, or use a new experiment name"
                )
            if force and exp.unit_dir(f, s).exists():
                shutil.rmtree(exp.unit_dir(f, s))  # retrained from scratch, not resumed
            pairs = extra(f) if extra is not None else None
            results[(f, s)] = fit_unit(exp, f, s, stamp, pairs, on_epoch_end)
    return results


def fit_unit(
    exp: Experiment,
    fold: int,
    seed: int,
    stamp: Stamp,
    pairs: MaskPairs | None = None,
    on_epoch_end: EpochHook | None = None,
) -> dict[str, Any]:
    """Train one mask unit into its folder: best.pt, history.csv, result.json (its stamp);
    `pairs` (pseudo-masks) join its training rows, never its validation rows."""
    cfg, task, tc = exp.cfg, exp.task, exp.cfg.train
    size = cfg.data.image_size
    device = resolve_device(tc.device)
    precision = resolve_precision(device, tc.precision)
    unit_dir = exp.unit_dir(fold, seed)
    stamp.invalidate()
    unit_dir.mkdir(parents=True, exist_ok=True)
    is_valid = exp.fold_of_row == fold
    images, masks = exp.train_images, exp.comp.targets  # (N, C, H, W) bool, or ragged
    y_small = small_targets(exp)
    transform = build_train_transform(cfg.data.train_augs, size, cfg.data.n_channels)
    labelled = MaskDataset(images[~is_valid], masks[~is_valid], transform, size)
    dataset: MaskDataset | JoinedMasks = labelled
    if pairs is not None and len(pairs.images):
        dataset = JoinedMasks(labelled, MaskDataset(pairs.images, pairs.targets, transform, size))
    sampler = EpochSampler(len(dataset), derive_seed(seed, 1))
    loader = DataLoader(
        dataset, batch_size=tc.batch_size, sampler=sampler, num_workers=cfg.data.num_workers
    )
    model = build_model(cfg, task.num_outputs, device, seed)
    loss_fn = task.build_loss(tc, y_small[~is_valid]).to(device)
    optimizer = build_optimizer(model, tc)
    updates = max(1, math.ceil(len(loader) / tc.grad_accum))
    scheduler = build_scheduler(optimizer, tc, updates)
    scaler = precision.grad_scaler()
    # EMA as the classification step keeps it (timm's, with warmup); validated and saved
    ema = ModelEmaV3(model, decay=tc.ema_decay, use_warmup=True) if tc.ema_decay else None
    normalize = normalizer_of(exp, device)
    best, history, started, num_updates, start = -math.inf, [], time.time(), 0, 0
    last = unit_dir / "last.pt"
    begun = Stamp(unit_dir / "started.json", stamp.parts)  # the inputs last.pt was made from
    if last.exists() and begun.recorded() is not None and not begun.fresh():
        raise ArtifactError(
            f"{unit_dir} was started from other inputs ({', '.join(begun.changed())} changed "
            "since) and would resume on today's; re-run with --force to restart it"
        )
    begun.write()
    if last.exists():
        state = load_checkpoint(last, device)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        scaler.load_state_dict(state["scaler"])
        if ema is not None:
            ema.module.load_state_dict(state["ema"])
        start, best, history = state["epoch"] + 1, state["best"], state["history"]
        num_updates = state["num_updates"]
        _log.info("  resuming %s at epoch %d/%d", unit_dir, start + 1, tc.epochs)
    for epoch in range(start, tc.epochs):
        t0 = time.time()
        seed_everything(derive_seed(seed, epoch, 2))
        sampler.set_epoch(epoch)
        model.train()
        total, batches = torch.zeros((), device=device), 0  # read once per epoch: no sync
        for i, (x, target) in enumerate(loader):
            with precision.autocast():
                loss = loss_fn(model(normalize(x)), target.to(device)) / tc.grad_accum
            scaler.scale(loss).backward()
            if (i + 1) % tc.grad_accum == 0 or i + 1 == len(loader):
                if tc.clip_grad:
                    scaler.unscale_(optimizer)
                    torch.nn.utils.clip_grad_norm_(model.parameters(), tc.clip_grad)
                scaler.step(optimizer)
                scaler.update()
                optimizer.zero_grad(set_to_none=True)
                num_updates += 1
                scheduler.step_update(num_updates=num_updates)
                if ema is not None:
                    ema.update(model, step=num_updates)
            total += loss.detach().float() * tc.grad_accum
            batches += 1
        kept = ema.module if ema is not None else model  # the weights best.pt would keep
        prob = predict_maps(
            kept, images[is_valid], normalize, precision, ["identity"], cfg.infer.batch_size
        )[0]
        score = mean_dice(y_small[is_valid].astype(bool), prob >= 0.5)
        scheduler.step(epoch + 1, score)
        row = {
            "epoch": epoch + 1,
            "train_loss": float(total) / max(1, batches),
            "valid_dice@0.5": score,
            "valid_loss": task.valid_loss(y_small[is_valid], prob),
            "seconds": round(time.time() - t0, 2),
        }
        history.append(row)
        _log.info(
            "  epoch %d/%d  loss %.4f  valid dice@0.5 %.4f  (%.1fs)",
            epoch + 1,
            tc.epochs,
            row["train_loss"],
            score,
            row["seconds"],
        )
        if on_epoch_end is not None:
            on_epoch_end(epoch, row)
        if tc.checkpoint == "last" or score > best:
            best = max(best, score)
            save_checkpoint(unit_dir / "best.pt", {"model": kept.state_dict(), "epoch": epoch + 1})
        save_checkpoint(
            last,
            {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "scaler": scaler.state_dict(),
                "ema": ema.module.state_dict() if ema is not None else None,
                "epoch": epoch,
                "best": best,
                "history": history,
                "num_updates": num_updates,
            },
        )
        if tc.stop_after_epoch is not None and epoch + 1 >= tc.stop_after_epoch < tc.epochs:
            raise Interrupted(f"stopped after epoch {epoch + 1} (train.stop_after_epoch)")
    write_csv(unit_dir / "history.csv", pd.DataFrame(history))
    result = {
        "best_score": best,
        "metric": "dice@0.5",
        "final_score": history[-1]["valid_dice@0.5"] if history else best,
        "epochs_run": len(history),
        "train_seconds": round(time.time() - started, 2),
    }
    stamp.write(**result)
    return result


# ---- predict ----------------------------------------------------------------------------------
def oof(exp: Experiment, force: bool = False) -> dict[str, Any]:
    """The OOF maps of every fold, the honest CV and scores.json; see the module docstring."""
    cfg, task = exp.cfg, exp.task
    out = exp.run_dir / OOF_MAPS
    record = mask_oof_stamp(exp)
    if not force and record.fresh([out, exp.run_dir / "scores.json"]):
        _log.info("oof %s: up to date (%s)", cfg.name, out)
        return dict(read_json(exp.run_dir / "scores.json"))
    t0 = time.time()
    fold_of_row = exp.fold_of_row
    y = small_targets(exp).astype(bool)
    prob = np.zeros(y.shape, np.float32)
    for k in range(cfg.folds.n_splits):
        rows = np.flatnonzero(fold_of_row == k)
        prob[rows] = fold_maps(exp, k, exp.train_images[rows])
    prob = prob.astype(np.float16).astype(np.float32)  # decided as stored: refits agree
    record.invalidate()
    write_maps(out, [str(i) for i in exp.comp.train_ids], prob, fold_of_row)
    scores, report = oof_scores(task, exp.comp.targets, y, prob, fold_of_row)
    scores["store_bytes_per_image"] = bytes_per_image(out)
    scores["seconds"] = round(time.time() - t0, 2)
    write_json(exp.run_dir / "scores.json", scores)
    record.write(cv=scores["cv"])
    native = scores.get("cv_at_image_size")
    print(
        f"oof {cfg.name}: CV {task.metric.name} {scores['cv']:.4f} (honest: fold k "
        f"post-processed by the other folds' fit)  in-sample {scores['in_sample']:.4f}  "
        f"at 0.5 {scores['at_threshold_0.5']:.4f}"
        + (f"  at the images' own sizes {native:.4f}" if native is not None else "")
        + f"  ({scores['seconds']}s)"
    )
    for line in report:
        print(f"  {line}")
    return scores


def test_maps(exp: Experiment) -> tuple[np.ndarray, int]:
    """The test images' maps merged over the folds, seeds and views, and how many were
    merged: what `infer` stores and `podium predict --bundle` recomputes."""
    cfg = exp.cfg
    maps = np.concatenate([unit_maps(exp, k, exp.test_images) for k in cfg.fold_ids()])
    return merge_maps(exp.task, maps, cfg.infer.merge), len(maps)


def infer(exp: Experiment, force: bool = False) -> None:
    """The test maps merged over folds, seeds and views (the flip undone before the mean)."""
    cfg = exp.cfg
    out = exp.run_dir / TEST_MAPS
    record = mask_infer_stamp(exp)
    if not force and record.fresh([out]):
        _log.info("infer %s: up to date (%s)", cfg.name, out)
        return
    t0 = time.time()
    folds = cfg.fold_ids()
    merged, n_maps = test_maps(exp)
    record.invalidate()
    write_maps(out, [str(i) for i in exp.comp.test_ids], merged)
    record.write(folds=folds, seconds=round(time.time() - t0, 2))
    _log.info(
        "infer %s: %d test images x %d maps in %.1fs -> %s (%.0f bytes per image)",
        cfg.name,
        len(exp.comp.test_ids),
        n_maps,
        time.time() - t0,
        out,
        bytes_per_image(out),
    )
