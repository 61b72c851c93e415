"""Segmentation's forward passes: the probability maps of a fold's units over their TTA
views, each view undone before the mean, with the weights `train.checkpoint` names (best,
last, swa, or each snapshot: `engine.checkpoint.checkpoint_members`; a teacher that teaches
with a fixed schedule's weights names its own), and the masks at the model's size that the
maps are scored against. A mask unit's training samples are `podium.data.mask_dataset`'s.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from podium.data.device import Normalizer
from podium.data.tta import get_view, undo_view
from podium.engine.checkpoint import checkpoint_members, inference_state
from podium.engine.network import create_network
from podium.engine.precision import resolve_device, resolve_precision
from podium.errors import ArtifactError
from podium.experiment import Experiment
from podium.segmentation.masks import at_size


def resize_masks(y: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(N, C, H, W) masks, or ragged ones (images of several sizes), resized (nearest) to
    (N, C, *size), as uint8 0/1."""
    return at_size(y, size)


def small_targets(exp: Experiment) -> np.ndarray:
    """The train masks at `data.image_size` (what the model predicts and OOF scores)."""
    return resize_masks(exp.comp.targets, exp.cfg.data.image_size)


@torch.inference_mode()
def predict_maps(
    model: torch.nn.Module,
    images: np.ndarray,
    normalizer: Normalizer,
    precision: Any,
    views: list[str],
    batch_size: int,
) -> np.ndarray:
    """(V, N, C, h, w) float32 probabilities of every view, each view undone."""
    model.eval()
    out: list[np.ndarray] = []
    for start in range(0, len(images), batch_size):
        x = normalizer(np.array(images[start : start + batch_size]))  # a writable copy
        per_view = []
        with precision.autocast():
            for view in views:
                logits = model(get_view(view)(x)).float()
                per_view.append(torch.sigmoid(undo_view(view)(logits)).cpu().numpy())
        out.append(np.stack(per_view))
    return np.concatenate(out, axis=1)


def normalizer_of(exp: Experiment, device: torch.device) -> Normalizer:
    cfg = exp.cfg
    return Normalizer(cfg.data.mean, cfg.data.std, device, False, cfg.data.image_size)


def unit_models(
    exp: Experiment, fold: int, device: torch.device, checkpoint: str | None = None
) -> list[torch.nn.Module]:
    """Fold `fold`'s networks, seed-major: each seed's `checkpoint` weights (default
    `train.checkpoint`; `snapshots`: each cycle's), as oof and infer predict with them."""
    tc = exp.cfg.train
    models = []
    for seed in tc.seeds:
        unit = exp.unit_dir(fold, seed)
        for name in checkpoint_members(checkpoint or tc.checkpoint, tc.cycles):
            if not (unit / f"{name}.pt").is_file():
                raise ArtifactError(f"{unit / name}.pt: run `podium train -c {exp.cfg.source}`")
            model = create_network(exp.cfg, exp.task.num_outputs, pretrained=False)
            model.load_state_dict(inference_state(unit, name))
            models.append(model.to(device))
    return models


def unit_maps(
    exp: Experiment, fold: int, images: np.ndarray, checkpoint: str | None = None
) -> np.ndarray:
    """(S * K * V, N, C, h, w) probability maps of fold `fold`'s seeds (K snapshots each
    with `snapshots`, else 1) and the TTA views."""
    cfg = exp.cfg
    device = resolve_device(cfg.train.device)
    precision = resolve_precision(device, cfg.train.precision)
    normalize = normalizer_of(exp, device)
    return np.concatenate(
        [
            predict_maps(m, images, normalize, precision, cfg.infer.tta, cfg.infer.batch_size)
            for m in unit_models(exp, fold, device, checkpoint)
        ]
    )


def fold_maps(
    exp: Experiment, fold: int, images: np.ndarray, checkpoint: str | None = None
) -> np.ndarray:
    """(N, C, h, w) maps of `images` by fold `fold`'s units alone (their `checkpoint`.pt),
    merged over seeds and views: a teacher's fold-k pseudo-masks, a trial's fold maps."""
    return merge_maps(exp.task, unit_maps(exp, fold, images, checkpoint), exp.cfg.infer.merge)


def merge_maps(task: Any, maps: np.ndarray, how: str) -> np.ndarray:
    if how == "logit":
        p = np.clip(maps, 1e-6, 1 - 1e-6)
        return np.asarray(task.activate(np.mean(np.log(p / (1 - p)), axis=0)))
    return np.asarray(maps.mean(axis=0))
