"""The segmentation demo competition, drawn locally (no download): digit strokes on textured,
noisy backgrounds, in Kaggle's run-length layout (`podium demo-data --task segmentation`):

    train.csv             id,rle      1-indexed, column-major runs; an empty cell: no digit
    train/<id>.png        64x64 RGB
    test.csv              id
    test/<id>.png
    sample_submission.csv id,rle      (rle empty: a placeholder)
    solution.csv          id,rle,Usage (hidden masks; Public/Private halves)

Each image is a smooth random texture (blurred noise in a random tint) plus pixel noise. About
80% carry one digit drawn with OpenCV's Hershey fonts (a random digit, size, stroke width,
position and slant); the mask is the digit's strokes. Every image also carries one to three
distractor shapes (filled or hollow circles, rectangles, line segments) as bright as the
digit but NOT in the mask, so a brightness threshold alone (the classical reference) finds
them too; the mask must be learnt from the strokes' shape. ~20% of images are empty masks.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from podium.artifacts import atomic_folder
from podium.segmentation.rle import COLUMN_MAJOR, encode

SIZE = 64
SEED = 2026
N_TRAIN, N_TEST = 320, 80
EMPTY_SHARE = 0.2
FILES = ("train.csv", "test.csv", "sample_submission.csv", "solution.csv")
_FONTS = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_COMPLEX)


def _texture(rng: np.random.Generator, size: int) -> np.ndarray:
    """A smooth random background in [0, 1], (size, size, 3)."""
    coarse = rng.random((size // 8, size // 8, 3)).astype(np.float32)
    smooth = cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC)
    tint = rng.uniform(0.15, 0.45, 3).astype(np.float32)
    return np.clip(tint + 0.25 * (smooth - 0.5), 0, 1)


def _distractor(rng: np.random.Generator, canvas: np.ndarray, size: int) -> None:
    """One shape painted on `canvas` (a (size, size) float layer) that is not in the mask, as
    large as a digit's strokes (so a minimum area alone cannot remove it)."""
    kind = rng.integers(0, 3)
    x, y = (int(v) for v in rng.integers(4, size - 4, 2))
    thickness = int(rng.choice([-1, 3, 4]))
    if kind == 0:
        cv2.circle(canvas, (x, y), int(rng.integers(size // 10, size // 5)), 1.0, thickness)
    elif kind == 1:
        w, h = (int(v) for v in rng.integers(size // 8, size // 3, 2))
        cv2.rectangle(canvas, (x, y), (min(size - 1, x + w), min(size - 1, y + h)), 1.0, thickness)
    else:
        x2, y2 = (int(v) for v in rng.integers(0, size, 2))
        cv2.line(canvas, (x, y), (x2, y2), 1.0, max(2, size // 16))


def _digit(rng: np.random.Generator, size: int) -> np.ndarray:
    """A (size, size) bool mask of one digit's strokes, at a random place and slant."""
    layer = np.zeros((size, size), np.uint8)
    scale = rng.uniform(0.9, 1.5) * size / 64
    font = _FONTS[int(rng.integers(len(_FONTS)))]
    thickness = int(rng.integers(2, 5))
    text = str(int(rng.integers(10)))
    (w, h), _ = cv2.getTextSize(text, font, scale, thickness)
    x = int(rng.integers(2, max(3, size - w - 2)))
    y = int(rng.integers(h + 2, max(h + 3, size - 2)))
    cv2.putText(layer, text, (x, y), font, scale, 255, thickness, cv2.LINE_8)
    angle = rng.uniform(-20, 20)
    rot = cv2.getRotationMatrix2D((size / 2, size / 2), angle, 1.0)
    turned = cv2.warpAffine(layer, rot, (size, size), flags=cv2.INTER_NEAREST)
    mask: np.ndarray = turned > 127
    return mask


def make_sample(rng: np.random.Generator, size: int = SIZE) -> tuple[np.ndarray, np.ndarray]:
    """One (size, size, 3) uint8 image and its (size, size) bool mask (maybe empty)."""
    image = _texture(rng, size)
    shapes = np.zeros((size, size), np.float32)
    for _ in range(int(rng.integers(1, 4))):
        _distractor(rng, shapes, size)
    mask = np.zeros((size, size), bool) if rng.random() < EMPTY_SHARE else _digit(rng, size)
    ink = np.maximum(shapes, mask.astype(np.float32))
    colour = rng.uniform(0.7, 1.0, 3).astype(np.float32)
    image = image * (1 - ink[..., None]) + colour * ink[..., None]
    image += rng.normal(0, 0.06, image.shape).astype(np.float32)
    pixels = (np.clip(image, 0, 1) * 255).astype(np.uint8)
    return pixels, mask


def write_segmentation_demo(
    out: Path, size: int = SIZE, n_train: int = N_TRAIN, n_test: int = N_TEST
) -> Path:
    """The demo under `out` (see the module docstring); idempotent (a complete folder is left
    alone) and atomic (built in a temporary folder, then renamed). Tests draw a smaller one."""
    if all((out / f).is_file() for f in FILES):
        return out
    rng = np.random.default_rng(SEED)
    with atomic_folder(out) as tmp:
        rows: dict[str, list[tuple[str, str]]] = {"train": [], "test": []}
        for split, n in (("train", n_train), ("test", n_test)):
            (tmp / split).mkdir()
            for i in range(n):
                image_id = f"{split}_{i:04d}"
                pixels, mask = make_sample(rng, size)
                cv2.imwrite(str(tmp / split / f"{image_id}.png"), pixels)
                rows[split].append((image_id, encode(mask, COLUMN_MAJOR)))
        train = pd.DataFrame(rows["train"], columns=["id", "rle"])
        test = pd.DataFrame(rows["test"], columns=["id", "rle"])
        train.to_csv(tmp / "train.csv", index=False)
        test[["id"]].to_csv(tmp / "test.csv", index=False)
        test.assign(rle="").to_csv(tmp / "sample_submission.csv", index=False)
        usage = np.where(
            np.random.default_rng(SEED + 1).random(len(test)) < 0.5, "Public", "Private"
        )
        test.assign(Usage=usage).to_csv(tmp / "solution.csv", index=False)
    return out
