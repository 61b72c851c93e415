"""Cost of the external-data leak check (`podium.data.duplicates`) at competition scale.

Two figures, on synthetic cache rows (smooth random images, as a decode cache holds them):

  hash      cache rows/s of `image_hashes` (xxh3-128 of each row + the 64-bit DCT hash), done
            once per cache file and kept beside it;
  compare   pairs/s of `find_duplicates` (exact: a dict of digests; near: XOR + popcount over
            every external x competition pair), and the seconds it would take for
            `--external` external images against `--competition` train + test images.

    python benchmarks/duplicates_speed.py                      # 4000 rows of 224 px
    python benchmarks/duplicates_speed.py --rows 2000 --size 128 --external 20000 --competition 100000
"""

from __future__ import annotations

import argparse
import time

import cv2
import numpy as np

from podium.data.duplicates import ImageHashes, find_duplicates, image_hashes


def rows(n: int, size: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.empty((n, size, size, 3), np.uint8)
    for i in range(n):
        coarse = rng.random((8, 8, 3)).astype(np.float32)
        out[i] = cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC).clip(0, 1) * 255
    return out


def random_hashes(n: int, seed: int) -> ImageHashes:
    rng = np.random.default_rng(seed)
    return ImageHashes(
        rng.integers(0, 2**63, (n, 2), dtype=np.uint64),
        rng.integers(0, 2**63, n, dtype=np.uint64),
        np.zeros(n, bool),
    )


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=4000, help="cache rows to hash")
    p.add_argument("--size", type=int, default=224, help="side of a cache row, px")
    p.add_argument("--external", type=int, default=20000, help="external images compared")
    p.add_argument("--competition", type=int, default=100000, help="train + test images")
    args = p.parse_args(argv)

    images = rows(args.rows, args.size)
    t = time.perf_counter()
    image_hashes(images)
    hash_rate = args.rows / (time.perf_counter() - t)

    a, b = random_hashes(min(args.external, 2000), 1), random_hashes(args.competition, 2)
    t = time.perf_counter()
    find_duplicates(a, b)
    pair_rate = len(a) * len(b) / (time.perf_counter() - t)
    seconds = args.external * args.competition / pair_rate
    print(f"hash     {hash_rate:,.0f} cache rows/s ({args.size}x{args.size}x3)")
    print(
        f"compare  {pair_rate / 1e6:,.0f}M pairs/s: {args.external:,} external x "
        f"{args.competition:,} images in {seconds:.1f}s"
    )
    return {"hash_rows_per_s": hash_rate, "pairs_per_s": pair_rate, "compare_seconds": seconds}


if __name__ == "__main__":
    main()
