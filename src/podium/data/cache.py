"""Decode every image once into a uint8 array (N, H, W, C), in memory or as a memmap under
`runs/<comp>/cache/`. Why: GPUs starve on JPEG decoding; a cache turns each epoch's image
reads into array slicing, and a memmap is shared by loader workers without copies.

Reading a file (format, bit depth, DICOM windows, channels) is `podium.data.readers`' job;
bringing it to the cache's size is `podium.data.resize`'s. This module decodes in parallel,
reports every file that failed in one error, and names the cache after everything that
decides its pixels (paths, contents, the cache size and the reader settings). The contents
are digests remembered by each file's stat key (`podium.digests`, stored beside the caches).
"""

from __future__ import annotations

import hashlib
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from podium.artifacts import atomic_path
from podium.competition import DataError
from podium.data.readers import ImageReadError, ReadSpec, channel_paths, read_image
from podium.data.resize import fit_to_size
from podium.digests import STORE_NAME, digest_store, file_digests
from podium.progress import bars
from podium.series.files import files_of_image

logger = logging.getLogger(__name__)

MAX_LISTED = 20  # bad files named in the error; the count covers them all


def decode_image(path: Path, size: tuple[int, int], spec: ReadSpec | None = None) -> np.ndarray:
    """Read one image as uint8 (h, w, C) at `size` (h, w) by `spec` (default: RGB, squashed);
    an unreadable or truncated file raises an ImageReadError (a DataError) naming it."""
    spec = spec or ReadSpec()
    return fit_to_size(read_image(path, spec), size, spec.resize, spec.pad_value)


def _decode_into(
    out: np.ndarray, paths: list[Path], size: tuple[int, int], progress: bool, spec: ReadSpec
) -> None:
    """Fill `out` from `paths`; raise one DataError listing every file that failed."""

    def work(i: int) -> tuple[Path, str] | None:
        try:
            out[i] = decode_image(paths[i], size, spec)
        except ImageReadError as e:
            return e.path, e.reason
        except Exception as e:  # a decoder's own error: one bad file must not hide the others
            return paths[i], f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
        return None

    # cv2 releases the GIL while decoding: threads scale without pickling arrays
    with ThreadPoolExecutor(max_workers=max(1, min(16, os.cpu_count() or 1))) as pool:
        results = list(
            tqdm(
                pool.map(work, range(len(paths))),
                total=len(paths),
                desc="decode",
                disable=not (progress and bars()),
                leave=False,
            )
        )
    bad = [r for r in results if r is not None]
    if bad:
        raise DataError(decode_failures_message(bad))


def decode_failures_message(bad: list[tuple[Path, str]]) -> str:
    """'3 images could not be decoded (in DIR): a.jpg (truncated: ...), b.png (...)'."""
    try:
        root = Path(os.path.commonpath([p.parent for p, _ in bad]))
    except ValueError:  # relative and absolute paths mixed
        root = None
    listed = ", ".join(
        f"{p.relative_to(root) if root else p} ({reason})" for p, reason in bad[:MAX_LISTED]
    )
    n = len(bad)
    where = f" in {root}" if root else ""
    more = f" [first {MAX_LISTED} listed]" if n > MAX_LISTED else ""
    return f"{n} image{'s' if n != 1 else ''} could not be decoded{where}: {listed}{more}"


def _stat_files(path: Path, spec: ReadSpec | None) -> list[Path]:
    if spec is not None and spec.channel_names is not None:
        return channel_paths(path, spec.channel_names)
    return files_of_image(path)  # a series folder: its slices


def cache_key(
    paths: list[Path],
    size: tuple[int, int],
    spec: ReadSpec | None = None,
    digests: Path | None = None,
) -> str:
    """A hash of the files (path and content: `podium.digests`, remembered in the store
    `digests`), the cache size and the reader settings: any change, an image rewritten in
    place with its size and mtime restored included, names a new cache file instead of
    serving stale pixels."""
    h = hashlib.sha256(f"{size}".encode())
    if spec is not None:
        h.update(spec.key().encode())
    files = [f for p in paths for f in _stat_files(p, spec)]
    contents = file_digests(files, digests)
    missing = [(f, "file not found") for f, d in zip(files, contents, strict=True) if d is None]
    if missing:
        raise DataError(decode_failures_message(missing))
    for f, digest in zip(files, contents, strict=True):
        h.update(f"{f}|{digest}\n".encode())
    return h.hexdigest()[:12]


def load_images(
    paths: list[Path],
    size: tuple[int, int],
    cache_dir: Path | None,
    name: str,
    progress: bool = True,
    *,
    spec: ReadSpec | None = None,
) -> np.ndarray:
    """Return the images as (N, H, W, C) uint8 (C = `spec.n_channels`, default 3); with
    `cache_dir`, a memmap reused across runs.

    The file name carries a hash of the paths, contents and reader settings, so a changed
    image folder or `data.channels`/`window`/`resize` gets a new cache instead of silently
    stale pixels. Every file that fails is reported in one DataError, and no cache is kept.
    """
    spec = spec or ReadSpec()
    h, w = size
    shape = (len(paths), h, w, spec.n_channels)
    if cache_dir is None:
        out = np.empty(shape, dtype=np.uint8)
        _decode_into(out, paths, size, progress, spec)
        return out
    digests = Path(cache_dir) / STORE_NAME
    file = Path(cache_dir) / f"{name}-{h}x{w}-{cache_key(paths, size, spec, digests)}.npy"
    if not file.exists():
        logger.info("decoding %d images into %s", len(paths), file)
        with atomic_path(file) as tmp:
            mm = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=shape)
            try:
                _decode_into(mm, paths, size, progress, spec)
                mm.flush()
            finally:
                del mm
        digest_store(digests).flush()  # the folder exists now: remember the digests
    return np.load(file, mmap_mode="r")
