"""A segmentation student's pseudo-masks on disk: per student fold, the unlabelled images it
may train on and their targets, in `runs/<comp>/<student>/pseudo_masks/`.

    fold{k}.npy    float16 (n, C, h, w) targets at `data.image_size`: the teacher's fold-k
                   probabilities (`pseudo.soft: true`) or its decided 0/1 masks
    fold{k}.json   the rows: ids, source ('test' or 'extra'), label ('empty' or 'mask': the
                   selection's group) and confidence (mean |p - 0.5| * 2 over the map)

`all.npy` / `all.json` hold the rows every fold may use (`pseudo.all_folds: true`). numpy
files and JSON only, written atomically (`podium.artifacts`); never pickle. A student fold's
rows join its labelled rows in training (`podium.pseudo.masks`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from podium.artifacts import atomic_path, read_json, write_json
from podium.errors import ArtifactError

PSEUDO_MASKS = "pseudo_masks"
ALL_FOLDS = -1  # the rows every student fold may use (an all-folds teacher)


@dataclass(frozen=True)
class PseudoMasks:
    """One student fold's pseudo rows: their ids and targets, as the selection chose them."""

    ids: np.ndarray  # (n,) str
    source: np.ndarray  # (n,) 'test' or 'extra'
    label: np.ndarray  # (n,) 'empty' or 'mask'
    confidence: np.ndarray  # (n,) float
    targets: np.ndarray  # (n, C, h, w) float16 in [0, 1]


def stem(fold: int) -> str:
    return "all" if fold == ALL_FOLDS else f"fold{fold}"


def write_pseudo_masks(folder: Path, fold: int, masks: PseudoMasks) -> None:
    """Fold `fold`'s rows: the targets' .npy first, then the .json that lists them."""
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(folder / f"{stem(fold)}.npy") as tmp, open(tmp, "wb") as fh:
        np.save(fh, masks.targets.astype(np.float16), allow_pickle=False)
    write_json(
        folder / f"{stem(fold)}.json",
        {
            "ids": [str(i) for i in masks.ids],
            "source": [str(s) for s in masks.source],
            "label": [str(s) for s in masks.label],
            "confidence": [float(c) for c in masks.confidence],
            "shape": list(masks.targets.shape),
        },
    )


def read_pseudo_masks(folder: Path, fold: int) -> PseudoMasks | None:
    """Fold `fold`'s rows, or None where that fold has no file; a targets file that does not
    match its row list is refused with its path."""
    meta, data = folder / f"{stem(fold)}.json", folder / f"{stem(fold)}.npy"
    if not meta.is_file():
        return None
    rows = read_json(meta)
    targets = np.load(data, allow_pickle=False, mmap_mode="r")
    if list(targets.shape) != rows["shape"] or len(targets) != len(rows["ids"]):
        raise ArtifactError(
            f"{data}: shape {list(targets.shape)} does not match {meta.name} ({rows['shape']}, "
            f"{len(rows['ids'])} rows); re-run `podium pseudo` with --force"
        )
    return PseudoMasks(
        ids=np.array(rows["ids"], dtype=object),
        source=np.array(rows["source"], dtype=object),
        label=np.array(rows["label"], dtype=object),
        confidence=np.array(rows["confidence"], dtype=np.float64),
        targets=np.asarray(targets),
    )
