"""Decode speed (images/s) of each reader behind podium's decode cache, on this CPU.

For each format, `--n` files of `--size` px square (a few distinct synthetic images with smooth
content and mild noise, copied to `--n` files) are decoded into the cache's size `--out`:

  single   `podium.data.cache.decode_image` in a loop on one thread (read, decode, to uint8,
           channels, resize): the reader's own cost;
  pool     `podium.data.cache.load_images` (in memory): the cache's thread pool, as a run
           builds its cache.

The files are read once before timing, so both columns measure decoding, not the disk.
Photo formats are read as RGB (3 channels); 16-bit and DICOM ones as 1 channel (X-rays),
mapped to 8 bits by per-image percentiles (DICOM: its modality LUT, then percentiles).

With `--digests`, the content digests that key the decode cache and the freshness
fingerprints (`podium.digests`) are timed on the same files, beside the decoding:

  xxh3 / blake2b / sha256   MB/s of each hash over the files' bytes on one thread (why
                            podium uses xxh3-128);
  cold                      files/s of `DigestStore.digests` hashing every file (thread pool);
  warm                      files/s of the same call again: one stat per file, nothing read.

    python benchmarks/decode_speed.py                 # 200 images of 512 px per format
    python benchmarks/decode_speed.py --n 50 --formats png8 jpeg dicom_rle
    python benchmarks/decode_speed.py --digests --formats jpeg dicom
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from podium.data.cache import decode_image, load_images
from podium.data.readers import ReadSpec
from podium.digests import DigestStore


def content(rng: np.random.Generator, size: int, channels: int) -> np.ndarray:
    """Smooth structure plus mild noise, in [0, 1]: compresses like a photo or an X-ray, not
    like white noise."""
    coarse = rng.random((12, 12, channels)).astype(np.float32)
    img = cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC).reshape(size, size, -1)
    img += rng.normal(0, 0.02, img.shape).astype(np.float32)
    return np.clip(img, 0, 1)


def write_dicom(path: Path, arr: np.ndarray, syntax=None) -> None:
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import SecondaryCaptureImageStorage, generate_uid

    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.set_pixel_data(arr, photometric_interpretation="MONOCHROME2", bits_stored=12)
    ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
    if syntax is not None:
        ds.compress(syntax)
    ds.save_as(path, enforce_file_format=True)


def writers() -> dict[str, tuple[str, int, Callable[[Path, np.ndarray], None]]]:
    """format -> (suffix, channels read, writer of one [0, 1] float image)."""
    import tifffile
    from pydicom.uid import JPEG2000Lossless, RLELossless

    def u8(x):
        return (x * 255).astype(np.uint8)

    def u12(x):
        return (x[..., 0] * 4095).astype(np.uint16)

    return {
        "png8": (".png", 3, lambda p, x: cv2.imwrite(str(p), u8(x))),
        "jpeg": (
            ".jpg",
            3,
            lambda p, x: cv2.imwrite(str(p), u8(x), [cv2.IMWRITE_JPEG_QUALITY, 90]),
        ),
        "png16": (".png", 1, lambda p, x: cv2.imwrite(str(p), u12(x))),
        "tiff16": (".tif", 1, lambda p, x: tifffile.imwrite(p, u12(x))),
        "tiff16x4": (
            ".tif",
            4,
            lambda p, x: tifffile.imwrite(p, (x * 4095).astype(np.uint16), planarconfig="contig"),
        ),
        "dicom": (".dcm", 1, lambda p, x: write_dicom(p, u12(x))),
        "dicom_rle": (".dcm", 1, lambda p, x: write_dicom(p, u12(x), RLELossless)),
        "dicom_j2k": (".dcm", 1, lambda p, x: write_dicom(p, u12(x), JPEG2000Lossless)),
    }


def make_files(root: Path, fmt: str, n: int, size: int, distinct: int) -> list[Path]:
    suffix, channels, write = writers()[fmt]
    folder = root / fmt
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    originals = []
    for i in range(distinct):
        path = folder / f"orig{i}{suffix}"
        write(path, content(rng, size, 4 if channels == 4 else 3))
        originals.append(path)
    paths = []
    for i in range(n):
        path = folder / f"{i:05d}{suffix}"
        shutil.copyfile(originals[i % distinct], path)
        paths.append(path)
    for p in paths:  # into the page cache: time decoding, not the disk
        p.read_bytes()
    return paths


def bench(fmt: str, paths: list[Path], out: int, channels: int) -> dict:
    spec = ReadSpec(channels=channels)
    size = (out, out)
    decode_image(paths[0], size, spec)  # imports and first-call setup
    t = time.perf_counter()
    for p in paths:
        decode_image(p, size, spec)
    single = len(paths) / (time.perf_counter() - t)
    t = time.perf_counter()
    arr = load_images(paths, size, None, fmt, progress=False, spec=spec)
    pool = len(paths) / (time.perf_counter() - t)
    assert arr.shape == (len(paths), out, out, channels)
    kib = sum(p.stat().st_size for p in paths) / len(paths) / 1024
    return {"format": fmt, "kib": kib, "channels": channels, "single": single, "pool": pool}


def bench_digests(paths: list[Path]) -> dict:
    """Hash throughput (MB/s, one thread) and podium's digest store, cold and warm (files/s)."""
    import xxhash

    data = [p.read_bytes() for p in paths]
    mb = sum(len(d) for d in data) / 1e6
    hashes = {
        "xxh3": lambda d: xxhash.xxh3_128_digest(d),
        "blake2b": lambda d: hashlib.blake2b(d, digest_size=16).digest(),
        "sha256": lambda d: hashlib.sha256(d).digest(),
    }
    row: dict = {}
    for name, fn in hashes.items():
        t = time.perf_counter()
        for d in data:
            fn(d)
        row[name] = mb / (time.perf_counter() - t)
    store = DigestStore(None)
    t = time.perf_counter()
    store.digests(paths)
    row["cold"] = len(paths) / (time.perf_counter() - t)
    t = time.perf_counter()
    store.digests(paths)
    row["warm"] = len(paths) / (time.perf_counter() - t)
    return row


def main(argv: list[str] | None = None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=200, help="files per format")
    p.add_argument("--size", type=int, default=512, help="side of the files, px")
    p.add_argument("--out", type=int, default=256, help="side of the decoded cache images, px")
    p.add_argument("--distinct", type=int, default=8, help="distinct images per format")
    p.add_argument("--formats", nargs="+", default=list(writers()), choices=list(writers()))
    p.add_argument("--dir", type=Path, default=None, help="work folder (default: a temp folder)")
    p.add_argument("--digests", action="store_true", help="also time the content digests")
    args = p.parse_args(argv)

    root = args.dir or Path(tempfile.mkdtemp(prefix="podium-decode-"))
    threads = max(1, min(16, os.cpu_count() or 1))
    print(
        f"decode speed: {args.n} files of {args.size}x{args.size} per format -> "
        f"{args.out}x{args.out} uint8; cv2 threads {cv2.getNumThreads()}, "
        f"pool {threads} threads, {os.cpu_count()} CPUs",
        flush=True,
    )
    digest_head = (
        f"{'xxh3 MB/s':>10}{'blake2b':>9}{'sha256':>8}{'cold f/s':>10}{'warm f/s':>10}"
        if args.digests
        else ""
    )
    print(
        f"{'format':<11}{'KiB/file':>9}{'C':>3}{'single img/s':>14}{'pool img/s':>12}" + digest_head
    )
    rows = []
    try:
        for fmt in args.formats:
            paths = make_files(root, fmt, args.n, args.size, args.distinct)
            row = bench(fmt, paths, args.out, writers()[fmt][1])
            digest_cells = ""
            if args.digests:
                row.update(bench_digests(paths))
                digest_cells = (
                    f"{row['xxh3']:>10,.0f}{row['blake2b']:>9,.0f}{row['sha256']:>8,.0f}"
                    f"{row['cold']:>10,.0f}{row['warm']:>10,.0f}"
                )
            rows.append(row)
            print(
                f"{fmt:<11}{row['kib']:>9.0f}{row['channels']:>3}"
                f"{row['single']:>14,.0f}{row['pool']:>12,.0f}" + digest_cells,
                flush=True,
            )
    finally:
        if args.dir is None:
            shutil.rmtree(root, ignore_errors=True)
    return rows


if __name__ == "__main__":
    main()
