"""A Kaggle-like image competition written to disk for benchmarks: train.csv, train/*.jpg,
test/*.jpg and sample_submission.csv, of smooth random colour fields with noise (JPEG
compresses them like photos, not like white noise, which would make decoding unrealistically
slow). Written once per size under a folder named after it, atomically, and reused."""

from __future__ import annotations

import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import pandas as pd


def synthetic_image(rng: np.random.Generator, px: int) -> np.ndarray:
    """A (px, px, 3) uint8 RGB image: a 5x5 random field upsampled, plus noise."""
    field_ = cv2.resize(
        rng.integers(0, 256, (5, 5, 3), dtype=np.uint8), (px, px), interpolation=cv2.INTER_CUBIC
    )
    noise = rng.normal(0, 8, (px, px, 3))
    return np.clip(field_ + noise, 0, 255).astype(np.uint8)


def write_competition(root: Path, n_train: int, n_test: int, px: int, classes: int) -> Path:
    """Kaggle's layout under `root/<name>/`, written once (a temp folder renamed into place);
    labels cycle through `classes` classes. Returns the competition's folder."""
    name = f"synth-{n_train}_{n_test}x{px}px-{classes}c"  # a valid competition name: no "+"
    out = root / name
    if (out / "sample_submission.csv").is_file():
        return out
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=root))
    splits = {
        "train": [f"tr{i:06d}" for i in range(n_train)],
        "test": [f"te{i:06d}" for i in range(n_test)],
    }

    def write(split: str, i: int) -> None:
        rng = np.random.default_rng([i, split == "test"])
        img = synthetic_image(rng, px)
        cv2.imwrite(
            str(tmp / split / f"{splits[split][i]}.jpg"),
            img[..., ::-1],
            [cv2.IMWRITE_JPEG_QUALITY, 90],
        )

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:  # cv2 releases the GIL
        for split, ids in splits.items():
            (tmp / split).mkdir()
            list(pool.map(lambda i, s=split: write(s, i), range(len(ids))))
    labels = [str(i % classes) for i in range(n_train)]
    pd.DataFrame({"id": splits["train"], "label": labels}).to_csv(tmp / "train.csv", index=False)
    pd.DataFrame({"id": splits["test"], "label": "0"}).to_csv(
        tmp / "sample_submission.csv", index=False
    )
    tmp.rename(out)
    print(
        f"wrote {n_train + n_test:,} JPEGs at {px} px to {out} in {time.perf_counter() - t0:.1f}s"
    )
    return out
