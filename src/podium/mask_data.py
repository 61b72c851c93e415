"""Segmentation's samples and forward passes: (image, mask) pairs for training a mask unit,
and the probability maps of a fold's units (their `best.pt`, or `last.pt` for a teacher that
teaches with a fixed schedule's weights) over their TTA views, each view undone before the
mean.

`MaskDataset` gives (image, mask) pairs; the config's albumentations pipeline
(`podium.data.augment`) transforms both (`mask=`: geometric transforms move the mask,
intensity ones leave it), then both are resized to `data.image_size` (the mask nearest).
Masks may be 0/1 (a train table's) or float probabilities (a teacher's soft pseudo-masks,
`podium.pseudo_masks`): both become float targets. `JoinedMasks` chains a fold's labelled
pairs and its pseudo pairs into one dataset, so the epoch sampler draws from both without a
copy of the train images.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from podium.data.device import Normalizer
from podium.data.resize import resize_channels
from podium.data.tta import get_view, undo_view
from podium.engine.checkpoint import load_checkpoint
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


class MaskDataset(Dataset):
    """uint8 (N, H, W, C) images and (N, K, H', W') masks (0/1, float soft targets, or ragged:
    an (N,) object array of each image's (K, H_i, W_i) masks at its own size) ->
    (image, mask) samples at `size`, augmented together by `transform` (seeded per sample,
    as `ImageDataset`)."""

    def __init__(
        self, images: np.ndarray, masks: np.ndarray, transform: Any, size: tuple[int, int]
    ) -> None:
        self.images, self.masks, self.transform, self.size = images, masks, transform, size

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, item: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
        index, seed = item
        img = np.asarray(self.images[index])
        mask = np.ascontiguousarray(self.masks[index].transpose(1, 2, 0))  # (H', W', K)
        if mask.dtype == np.bool_:  # a table's masks (ragged ones item by item): 0/1 uint8
            mask = mask.view(np.uint8)
        if mask.dtype == np.float16:  # OpenCV and albumentations resize float32, not float16
            mask = mask.astype(np.float32)
        if mask.shape[:2] != img.shape[:2]:
            mask = resize_channels(mask, img.shape[0], img.shape[1], cv2.INTER_NEAREST)
        if self.transform is not None:
            self.transform.set_random_seed(seed)
            out = self.transform(image=img, mask=mask)
            img, mask = out["image"], out["mask"]
        h, w = self.size
        if img.shape[:2] != (h, w):
            img = resize_channels(img, h, w, cv2.INTER_AREA)
        if mask.shape[:2] != (h, w):
            mask = resize_channels(mask, h, w, cv2.INTER_NEAREST)
        img = np.ascontiguousarray(img)
        target = torch.from_numpy(np.ascontiguousarray(mask.transpose(2, 0, 1))).float()
        return torch.from_numpy(img.copy() if not img.flags.writeable else img), target


class JoinedMasks(Dataset):
    """Two mask datasets as one: indices 0..len(first)-1 are `first`'s, the rest `second`'s
    (a fold's labelled pairs, then its pseudo pairs); items are (index, seed) as the epoch
    sampler draws them."""

    def __init__(self, first: MaskDataset, second: MaskDataset) -> None:
        self.first, self.second = first, second

    def __len__(self) -> int:
        return len(self.first) + len(self.second)

    def __getitem__(self, item: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
        index, seed = item
        if index < len(self.first):
            return self.first[(index, seed)]
        return self.second[(index - len(self.first), seed)]


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


def unit_weights(path: Path, device: torch.device) -> dict[str, Any]:
    """The inference weights of a unit's checkpoint file: best.pt's model, or last.pt's (its
    EMA where it kept one: the weights best.pt would have kept at that epoch)."""
    state = load_checkpoint(path, device)
    if path.name == "last.pt" and state.get("ema") is not None:
        return dict(state["ema"])
    return dict(state["model"])


def unit_models(
    exp: Experiment, fold: int, device: torch.device, checkpoint: str = "best"
) -> list[torch.nn.Module]:
    models = []
    for seed in exp.cfg.train.seeds:
        path = exp.unit_dir(fold, seed) / f"{checkpoint}.pt"
        if not path.is_file():
            raise ArtifactError(f"{path}: run `podium train -c {exp.cfg.source}`")
        model = create_network(exp.cfg, exp.task.num_outputs, pretrained=False)
        model.load_state_dict(unit_weights(path, device))
        models.append(model.to(device))
    return models


def unit_maps(
    exp: Experiment, fold: int, images: np.ndarray, checkpoint: str = "best"
) -> np.ndarray:
    """(S * V, N, C, h, w) probability maps of fold `fold`'s seeds and the TTA views."""
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
    exp: Experiment, fold: int, images: np.ndarray, checkpoint: str = "best"
) -> np.ndarray:
    """(N, C, h, w) maps of `images` by fold `fold`'s units alone (their `checkpoint`.pt),
    merged over seeds and views: a teacher's fold-k pseudo-masks, a trial's fold maps."""
    return merge_maps(exp.task, unit_maps(exp, fold, images, checkpoint), exp.cfg.infer.merge)


def merge_maps(task: Any, maps: np.ndarray, how: str) -> np.ndarray:
    if how == "logit":
        p = np.clip(maps, 1e-6, 1 - 1e-6)
        return np.asarray(task.activate(np.mean(np.log(p / (1 - p)), axis=0)))
    return np.asarray(maps.mean(axis=0))
