"""Learning-rate range test (fastai's `lr_find`, Smith 2015): train for a few hundred steps
while the learning rate grows exponentially from `start_lr` to `end_lr`, record the smoothed
loss, and suggest the rate where the loss falls fastest. It uses the engine's own model,
data path, loss and optimizer, so the suggestion holds for `podium train` as configured.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from podium.config import Config
from podium.data.device import Normalizer
from podium.engine.inputs import build_train_loader
from podium.engine.optim import build_optimizer
from podium.engine.precision import resolve_device, resolve_precision
from podium.engine.trainer import TrainRows, build_model
from podium.tasks import Task


@dataclass
class LRFindResult:
    lrs: np.ndarray
    losses: np.ndarray  # exponentially smoothed, bias-corrected
    suggestion: float  # steepest descent of the smoothed loss


def lr_find(
    cfg: Config,
    task: Task,
    rows: TrainRows,
    start_lr: float = 1e-6,
    end_lr: float = 1.0,
    steps: int = 100,
    smoothing: float = 0.9,
    diverge: float = 4.0,
) -> LRFindResult:
    """Sweep the LR; stop early once the loss exceeds `diverge` x its best value."""
    tc = cfg.train
    device = resolve_device(tc.device)
    precision = resolve_precision(device, tc.precision)
    model = build_model(cfg, task.num_outputs, device, tc.seeds[0], rows.metadata_stats)
    model.train()
    loader, sampler = build_train_loader(cfg, task, rows, tc.seeds[0], device)
    normalize = Normalizer(cfg.data.mean, cfg.data.std, device, tc.channels_last)
    criterion = task.build_loss(tc, rows.targets).to(device)
    optimizer = build_optimizer(model, tc)
    base = [g["lr"] for g in optimizer.param_groups]  # keeps discriminative ratios
    top = max(base)
    scaler = precision.grad_scaler()
    factor = (end_lr / start_lr) ** (1 / max(1, steps - 1))
    lrs, losses, avg, best = [], [], 0.0, math.inf
    step, epoch = 0, 0
    while step < steps:
        sampler.set_epoch(epoch)
        for images, targets, weights, *metadata in loader:
            lr = start_lr * factor**step
            for g, b in zip(optimizer.param_groups, base, strict=True):
                g["lr"] = lr * b / top
            with precision.autocast():
                logits = model(normalize(images), *(m.to(device) for m in metadata))
            loss = criterion(logits, targets.to(device), weights.to(device))
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            value = float(loss.item())  # one sync per step is fine for a short sweep
            avg = smoothing * avg + (1 - smoothing) * value
            smoothed = avg / (1 - smoothing ** (step + 1))
            lrs.append(lr)
            losses.append(smoothed)
            best = min(best, smoothed)
            step += 1
            if step >= steps or not math.isfinite(smoothed) or smoothed > diverge * best:
                step = steps
                break
        epoch += 1
    lrs_a, losses_a = np.array(lrs), np.array(losses)
    return LRFindResult(lrs_a, losses_a, suggest(lrs_a, losses_a))


def suggest(lrs: np.ndarray, losses: np.ndarray) -> float:
    """The LR of the steepest descent of loss against log(lr), ignoring the noisy ends."""
    if len(lrs) < 5:
        return float(lrs[int(np.argmin(losses))])
    cut = max(1, len(lrs) // 10)
    slopes = np.gradient(losses, np.log(lrs))
    inner = slice(cut, len(lrs) - cut)
    return float(lrs[inner][int(np.argmin(slopes[inner]))])
