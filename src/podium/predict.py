"""Batched inference with TTA on the training data path (uint8 cache -> device -> normalise),
shared by validation in the engine, oof, infer and pseudo. Runs without autograd, under
autocast on GPUs, channels_last, in large batches.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch

from podium.data.device import Normalizer
from podium.data.tta import get_view
from podium.engine.precision import Precision

Merge = Literal["prob", "logit", "geometric"]


@torch.inference_mode()
def predict_logits(
    model: torch.nn.Module,
    images: np.ndarray,
    normalizer: Normalizer,
    precision: Precision,
    views: list[str] = ("identity",),
    batch_size: int = 256,
) -> np.ndarray:
    """Logits of every view: float32 array (V, N, C)."""
    fns = [get_view(v) for v in views]
    was_training = model.training
    model.eval()
    out: list[list[np.ndarray]] = [[] for _ in fns]
    pin = normalizer.device.type == "cuda"
    for start in range(0, len(images), batch_size):
        batch = torch.from_numpy(
            np.array(images[start : start + batch_size])
        )  # memmaps are read-only
        if pin:
            batch = batch.pin_memory()
        x = normalizer(batch)
        with precision.autocast():
            for v, fn in enumerate(fns):
                out[v].append(model(fn(x)).float().cpu().numpy())
    model.train(was_training)
    return np.stack([np.concatenate(o) for o in out])


def softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    z = logits - logits.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def combine(logits: np.ndarray, how: Merge = "prob") -> np.ndarray:
    """Merge predictions along axis 0 (views, or folds x seeds) into probabilities (N, C).

    prob: mean of softmaxes (robust to one over-confident member); logit: softmax of mean
    logits; geometric: normalised geometric mean of probabilities (= logit mean up to the
    per-member log-sum-exp, which it removes)."""
    if how == "prob":
        return softmax(logits).mean(axis=0)
    if how == "logit":
        return softmax(logits.mean(axis=0))
    if how == "geometric":
        logp = np.log(np.clip(softmax(logits), 1e-12, None))
        return softmax(logp.mean(axis=0))
    raise ValueError(f"unknown merge {how!r}")
