"""Duplicate images between sets of decoded images (rows of the uint8 decode cache), as
Kaggle competitors check public data for leaks: exact duplicates (identical pixels at the
cache size) and near duplicates (perceptual hashes within `NEAR_BITS` bits).

Why on the decoded cache and not on the files: a re-encoded, resized or re-named copy of an
image has other bytes but, once decoded to the cache's size, the same or nearly the same
pixels; the cache already holds every image at one size and with the same reader settings.

Hashes, computed once per cache file and kept beside it (`<cache>.hashes.npz`, plain arrays):
- exact: xxh3-128 of the row's bytes (two uint64 words);
- perceptual: the 64-bit DCT hash (pHash, as the imagehash package computes it): the image
  resized to 32x32 (area), its mean over channels, its 2-D DCT, the 8x8 lowest frequencies
  compared with their median. Re-encoding or resizing moves a few bits; unrelated images
  differ in about 32. `NEAR_BITS = 6` (of 64) is the usual near-copy threshold: two
  independent random hashes come that close with a probability of about 5e-12;
- flat: a grey image with almost no structure (standard deviation under `FLAT_STD` grey
  levels at 32x32) has a meaningless perceptual hash (every coefficient near zero), so flat
  images take part in the exact comparison only.

Cost: hashing reads each cache row once (the DCT of a 32x32 stack is vectorised; about the
cost of one epoch's reads) and is kept; comparing m external images with n others is m x n
XOR-and-popcount on uint64 in chunks of about 16M pairs (seconds for 20k x 100k).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import xxhash

from podium.artifacts import atomic_path

NEAR_BITS = 6  # perceptual hashes this close (of 64 bits) are near duplicates
FLAT_STD = 2.0  # grey levels at 32x32: below this an image has no perceptual hash
HASH_SIDE, LOW = 32, 8
CHUNK_ROWS = 2048  # cache rows hashed at a time (bounded memory over a memmap)
CHUNK_PAIRS = 1 << 24  # pairs compared at a time


@dataclass(frozen=True)
class ImageHashes:
    """Per image: `exact` (N, 2) uint64, `perceptual` (N,) uint64, `flat` (N,) bool."""

    exact: np.ndarray
    perceptual: np.ndarray
    flat: np.ndarray

    def __len__(self) -> int:
        return len(self.flat)


def _perceptual(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """64-bit DCT hashes and flatness of (n, H, W, C) uint8 images."""
    from scipy.fft import dctn  # local for import cost

    # resized first, on uint8 (30x faster than a float grey image at the cache size); the
    # channels' mean after, on 32x32
    small = np.stack(
        [
            cv2.resize(img, (HASH_SIDE, HASH_SIDE), interpolation=cv2.INTER_AREA).reshape(
                HASH_SIDE, HASH_SIDE, -1
            )
            for img in images
        ]
    )
    small = small.astype(np.float32).mean(axis=-1)
    flat = small.reshape(len(small), -1).std(axis=1) < FLAT_STD
    low = dctn(small, axes=(1, 2), norm="ortho")[:, :LOW, :LOW].reshape(len(small), -1)
    bits = low > np.median(low, axis=1, keepdims=True)
    packed = np.packbits(bits, axis=1)  # (n, 8) bytes, most significant bit first
    return packed.view(">u8")[:, 0].astype(np.uint64), flat


def image_hashes(images: np.ndarray) -> ImageHashes:
    """The hashes of (N, H, W, C) uint8 images, read in chunks (a memmap stays on disk)."""
    n = len(images)
    exact = np.zeros((n, 2), np.uint64)
    perceptual = np.zeros(n, np.uint64)
    flat = np.zeros(n, bool)
    for start in range(0, n, CHUNK_ROWS):
        chunk = np.ascontiguousarray(images[start : start + CHUNK_ROWS])
        for i, row in enumerate(chunk):
            digest = xxhash.xxh3_128_intdigest(row.tobytes())
            exact[start + i] = (digest >> 64, digest & (2**64 - 1))
        perceptual[start : start + len(chunk)], flat[start : start + len(chunk)] = _perceptual(
            chunk
        )
    return ImageHashes(exact, perceptual, flat)


def cached_image_hashes(images: np.ndarray) -> ImageHashes:
    """`image_hashes`, kept beside a memmapped cache file (`<cache>.hashes.npz`): the cache's
    name covers its contents, so the hashes of one cache file never go stale."""
    filename = getattr(images, "filename", None)
    if filename is None:  # in memory (`data.cache: memory`): nothing to keep them beside
        return image_hashes(images)
    path = Path(str(filename) + ".hashes.npz")
    if path.is_file():
        with np.load(path, allow_pickle=False) as z:
            return ImageHashes(z["exact"], z["perceptual"], z["flat"])
    hashes = image_hashes(images)
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, exact=hashes.exact, perceptual=hashes.perceptual, flat=hashes.flat)
    return hashes


@dataclass(frozen=True)
class Duplicates:
    """Pairs (i in the first set, j in the second): exact ones, and near ones with their
    Hamming distance (exact pairs are not repeated among the near ones)."""

    exact: list[tuple[int, int]]
    near: list[tuple[int, int, int]]


def _popcount(x: np.ndarray) -> np.ndarray:
    if hasattr(np, "bitwise_count"):  # numpy >= 2.0
        return np.bitwise_count(x)
    table = np.array([bin(i).count("1") for i in range(256)], np.uint8)
    return table[x.view(np.uint8).reshape(*x.shape, 8)].sum(axis=-1, dtype=np.uint8)


def find_duplicates(a: ImageHashes, b: ImageHashes, near_bits: int = NEAR_BITS) -> Duplicates:
    """The exact and near duplicates between sets `a` and `b`."""
    index: dict[tuple[int, int], list[int]] = {}
    for j, (hi, lo) in enumerate(b.exact.tolist()):
        index.setdefault((hi, lo), []).append(j)
    exact = [(i, j) for i, key in enumerate(a.exact.tolist()) for j in index.get(tuple(key), [])]
    near: list[tuple[int, int, int]] = []
    rows_a = np.flatnonzero(~a.flat)
    rows_b = np.flatnonzero(~b.flat)
    if len(rows_a) and len(rows_b):
        hb = b.perceptual[rows_b]
        step = max(1, CHUNK_PAIRS // len(rows_b))
        for start in range(0, len(rows_a), step):
            ia = rows_a[start : start + step]
            distance = _popcount(a.perceptual[ia, None] ^ hb[None, :])
            for r, c in zip(*np.nonzero(distance <= near_bits), strict=True):
                near.append((int(ia[r]), int(rows_b[c]), int(distance[r, c])))
    exact_set = set(exact)
    near = [(i, j, d) for i, j, d in near if (i, j) not in exact_set]
    return Duplicates(exact, near)
