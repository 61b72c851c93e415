"""Decode every image once into a uint8 array (N, H, W, 3), in memory or as a memmap under
`runs/<comp>/cache/`. Why: GPUs starve on JPEG decoding; a cache turns each epoch's image
reads into array slicing, and a memmap is shared by loader workers without copies.
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
from tqdm.auto import tqdm

from podium.artifacts import atomic_path
from podium.competition import DataError


def decode_image(path: Path, size: tuple[int, int]) -> np.ndarray:
    """Read one image as RGB uint8 resized to `size` (h, w); unreadable files name themselves."""
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise DataError(f"cannot decode image {path} (corrupt or not an image)")
    img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    h, w = size
    if img.shape[:2] != (h, w):
        shrink = img.shape[0] > h or img.shape[1] > w
        img = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    return img


def _decode_into(out: np.ndarray, paths: list[Path], size: tuple[int, int], progress: bool) -> None:
    def work(i: int) -> None:
        out[i] = decode_image(paths[i], size)

    # cv2 releases the GIL while decoding: threads scale without pickling arrays
    with ThreadPoolExecutor(max_workers=max(1, min(16, os.cpu_count() or 1))) as pool:
        list(
            tqdm(
                pool.map(work, range(len(paths))),
                total=len(paths),
                desc="decode",
                disable=not progress,
                leave=False,
            )
        )


def cache_key(paths: list[Path], size: tuple[int, int]) -> str:
    h = hashlib.sha256(f"{size}".encode())
    for p in paths:
        st = p.stat()
        h.update(f"{p}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:12]


def load_images(
    paths: list[Path],
    size: tuple[int, int],
    cache_dir: Path | None,
    name: str,
    progress: bool = True,
) -> np.ndarray:
    """Return the images as (N, H, W, 3) uint8; with `cache_dir`, a memmap reused across runs.

    The file name carries a hash of the paths, sizes and mtimes, so a changed image folder
    gets a new cache instead of silently stale pixels.
    """
    h, w = size
    if cache_dir is None:
        out = np.empty((len(paths), h, w, 3), dtype=np.uint8)
        _decode_into(out, paths, size, progress)
        return out
    file = Path(cache_dir) / f"{name}-{h}x{w}-{cache_key(paths, size)}.npy"
    if not file.exists():
        with atomic_path(file) as tmp:
            mm = np.lib.format.open_memmap(
                tmp, mode="w+", dtype=np.uint8, shape=(len(paths), h, w, 3)
            )
            _decode_into(mm, paths, size, progress)
            mm.flush()
            del mm
    return np.load(file, mmap_mode="r")
