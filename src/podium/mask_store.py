"""The dense prediction store of segmentation: probability maps as float16 `.npy` files
(N, C, H, W) at the model's size, with their ids (and folds, for OOF) in a JSON beside them,
and their way back to each image's own size for a submission.

    oof_maps.npy + oof_maps.json       each train image predicted by its fold's models
    test_maps.npy + test_maps.json     the test images, merged over folds, seeds and views

float16 keeps probabilities to about 3 decimal digits, plenty for a threshold, at 2 bytes a
pixel and class: a 256x256 one-class map is 128 KiB, so 1,000 OOF and 1,000 test images
take about 256 MiB. The class axis is there from the start (multi-class masks). Reading
checks the ids against those expected (returned in that order) and the shape, so a stale or
foreign file is refused with its path. Writes are atomic (temporary file, then rename).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from podium.artifacts import read_json, write_json
from podium.errors import ArtifactError

OOF_MAPS = "oof_maps.npy"
TEST_MAPS = "test_maps.npy"


def write_maps(
    path: Path, ids: Sequence[str], maps: np.ndarray, folds: np.ndarray | None = None
) -> None:
    """Store (N, C, H, W) probabilities as float16, with ids (and folds) in `path`.json."""
    if maps.ndim != 4 or len(maps) != len(ids):
        raise ValueError(f"maps are (N, C, H, W) for {len(ids)} ids, got {maps.shape}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        np.save(f, np.clip(maps, 0, 1).astype(np.float16))
    os.replace(tmp, path)
    meta = {"ids": [str(i) for i in ids], "shape": list(maps.shape), "dtype": "float16"}
    if folds is not None:
        meta["folds"] = [int(k) for k in folds]
    write_json(path.with_suffix(".json"), meta)


def read_maps(path: Path, ids: Sequence[str], folds: np.ndarray | None = None) -> np.ndarray:
    """The float32 maps of `ids` (in that order) from a store; missing ids are refused, and
    with `folds` (OOF maps) so is a store whose ids were predicted by other folds (a stale
    store after `podium folds --force`)."""
    side = path.with_suffix(".json")
    if not path.is_file() or not side.is_file():
        raise ArtifactError(f"{path}: no probability maps here; run `podium oof` / `podium infer`")
    meta = read_json(side)
    stored = [str(i) for i in meta["ids"]]
    maps = np.load(path, mmap_mode="r", allow_pickle=False)
    if len(maps) != len(stored):
        raise ArtifactError(f"{path}: {len(maps)} maps but {len(stored)} ids in {side.name}")
    where = {i: k for k, i in enumerate(stored)}
    missing = [i for i in ids if str(i) not in where]
    if missing:
        raise ArtifactError(f"{path}: no maps of {len(missing)} id(s), e.g. {missing[:3]}")
    order = [where[str(i)] for i in ids]
    if folds is not None:
        if "folds" not in meta:
            raise ArtifactError(f"{side}: no folds stored (not an OOF store)")
        stored_folds = np.asarray(meta["folds"], dtype=np.int64)[order]
        moved = np.flatnonzero(stored_folds != np.asarray(folds, dtype=np.int64))
        if len(moved):
            raise ArtifactError(
                f"{side}: {len(moved)} id(s) predicted in another fold than folds.csv says, "
                f"e.g. {ids[moved[0]]!r} (fold {stored_folds[moved[0]]}, now "
                f"{folds[moved[0]]}); re-run `podium oof --force`"
            )
    return np.asarray(maps[order], dtype=np.float32)


def to_size(maps: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """One image's (C, h, w) probabilities resized (bilinear) to (C, *shape)."""
    if maps.shape[1:] == tuple(shape):
        return maps
    height, width = shape
    return np.stack([cv2.resize(m, (width, height), interpolation=cv2.INTER_LINEAR) for m in maps])


def bytes_per_image(path: Path) -> float:
    """The store's size on disk per image (the .npy and its ids)."""
    n = int(read_json(path.with_suffix(".json"))["shape"][0])
    total = path.stat().st_size + path.with_suffix(".json").stat().st_size
    return total / max(1, n)
