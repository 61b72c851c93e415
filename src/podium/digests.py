"""Content digests of files (xxh3-128 of their bytes), for the freshness fingerprints and the
decode cache's name: an image rewritten in place keeps its path and size, and even its mtime
when a tool restores it (`cp -p`, `rsync -t`, `touch -r`), but not its bytes.

Hashing reads every byte, so each digest is remembered with the file's stat key (device,
inode, size, mtime_ns, ctime_ns): a later check costs one stat per file, and only a file whose
stat key changed is read again. ctime is in the key because no tool can set it: a file
rewritten in place with its mtime restored keeps its inode, size and mtime but gets a new
ctime (git's index relies on the same).

Digests are remembered in the process and in a store file beside the decode caches
(`runs/<comp>/cache/file-digests.parquet`), so the next command, or a unit's own process,
does not read the images again. The store is written atomically, merged with what another
process wrote meanwhile, and only into a folder that exists (podium's cache folder, made with
the first cache): a check never creates folders, and a read-only `runs/` only costs re-hashing.

Why xxh3-128 (the xxhash package): 5 to 10 GB/s on one core of the 2-core dev machine, against
0.6 for blake2b and 0.7 to 1.3 for sha256 (`python benchmarks/decode_speed.py --digests`,
under a load of 4): a cold check hashes 3,000-6,000 files of 60-500 KiB a second, about 20
times the decoding rate, and a warm one (stat only) about 300,000. Change detection needs no
cryptographic strength, and 128 bits make an accidental collision negligible.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import xxhash

from podium.artifacts import atomic_path

_log = logging.getLogger(__name__)

STORE_NAME = "file-digests.parquet"
BLOCK = 1 << 22  # read large files (DICOM series, TIFF stacks) 4 MiB at a time
StatKey = tuple[int, int, int, int, int]  # device, inode, size, mtime_ns, ctime_ns


def digest_file(path: Path) -> str:
    """xxh3-128 of the file's bytes, as 32 hex digits."""
    h = xxhash.xxh3_128()
    with open(path, "rb") as f:
        while block := f.read(BLOCK):
            h.update(block)
    return h.hexdigest()


def stat_key(path: Path) -> StatKey | None:
    """What a remembered digest is valid for; None for a missing or unreadable file."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


class DigestStore:
    """Digests remembered by stat key, in memory and (with `path`) in a parquet file."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._known: dict[str, tuple[StatKey, str]] = {}
        self._loaded = False
        self._unsaved = False  # digests computed while the store's folder did not exist
        self._lock = threading.Lock()

    def digests(self, files: Sequence[Path]) -> list[str | None]:
        """Each file's digest (None where the file is missing), hashing only the files whose
        stat key changed since their digest was remembered."""
        with self._lock:
            self._load()
        keys = [stat_key(f) for f in files]
        todo = [
            i
            for i, (f, k) in enumerate(zip(files, keys, strict=True))
            if k is not None and self._known.get(str(f), (None,))[0] != k
        ]
        if todo:
            workers = max(1, min(8, os.cpu_count() or 1))
            with ThreadPoolExecutor(workers) as pool:  # reading releases the GIL, so does xxh3
                fresh = list(pool.map(lambda i: digest_file(files[i]), todo))
            with self._lock:
                for i, digest in zip(todo, fresh, strict=True):
                    self._known[str(files[i])] = (keys[i], digest)  # type: ignore[assignment]
                self._unsaved = True
        self.flush()
        return [
            None if k is None else self._known[str(f)][1] for f, k in zip(files, keys, strict=True)
        ]

    # ---- the store file ---------------------------------------------------------------------
    def _read(self) -> dict[str, tuple[StatKey, str]]:
        import pyarrow.parquet as pq  # local for import cost

        if self.path is None or not self.path.is_file():
            return {}
        try:
            t = pq.read_table(self.path).to_pydict()
        except Exception as e:  # a torn or foreign file: start again, it is only a memo
            _log.debug("ignoring the digest store %s (%s)", self.path, e)
            return {}
        keys = zip(t["dev"], t["ino"], t["size"], t["mtime_ns"], t["ctime_ns"], strict=True)
        return {p: (k, d) for p, k, d in zip(t["path"], keys, t["digest"], strict=True)}

    def _load(self) -> None:
        if not self._loaded:
            self._known = {**self._read(), **self._known}
            self._loaded = True

    def flush(self) -> None:
        """Write digests not yet in the store file, once its folder exists (the decode cache
        calls this after making the folder)."""
        with self._lock:
            if self._unsaved and self.path is not None and self.path.parent.is_dir():
                self._save()
                self._unsaved = False

    def _save(self) -> None:
        assert self.path is not None  # flush() checked it
        import pyarrow as pa  # local for import cost
        import pyarrow.parquet as pq

        merged = {**self._read(), **self._known}  # another process's digests are kept
        paths = list(merged)
        columns = list(zip(*(merged[p][0] for p in paths), strict=True)) or [()] * 5
        table = pa.table(
            {
                "path": paths,
                **{
                    name: pa.array(values, kind)
                    for name, kind, values in zip(
                        ("dev", "ino", "size", "mtime_ns", "ctime_ns"),
                        (pa.uint64(), pa.uint64(), pa.uint64(), pa.int64(), pa.int64()),
                        columns,
                        strict=True,
                    )
                },
                "digest": [merged[p][1] for p in paths],
            }
        )
        try:
            with atomic_path(self.path) as tmp:
                pq.write_table(table, tmp)
        except OSError as e:  # a read-only runs/: the digests are only not remembered
            _log.debug("cannot write the digest store %s (%s)", self.path, e)


_STORES: dict[Path | None, DigestStore] = {}
_STORES_LOCK = threading.Lock()


def digest_store(path: Path | None = None) -> DigestStore:
    """The process's store for `path` (None: memory only), shared by every caller."""
    key = Path(os.path.abspath(path)) if path is not None else None
    with _STORES_LOCK:
        if key not in _STORES:
            _STORES[key] = DigestStore(key)
        return _STORES[key]


def file_digests(files: Iterable[Path], store: Path | None = None) -> list[str | None]:
    """The content digest of each file (None where it is missing), remembered in `store`."""
    return digest_store(store).digests([Path(f) for f in files])
