"""Where every artifact lives and how it is written: atomically (temp file + rename), so a
killed process never leaves a half-written file that a later stage would trust; and read
back with checks (the fold hash, the ids) so artifacts made on different folds never mix.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import socket
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from podium.errors import ArtifactError, LockedError

__all__ = ["ArtifactError"]


def _umask() -> int:
    """The process's umask; read from /proc where it can be, since os.umask can only be read
    by setting it, which races with other threads creating files."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path: Path | str):
    """Yield a temp path beside `path`; rename it over `path` only if the block succeeds.
    The file gets the mode any new file would (0666 less the umask), not mkstemp's 0600."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_new(path: Path | str, writer: Callable[[Path], None]) -> Path:
    """Write a new file at `path`, or at `<stem>-2<suffix>`, `-3`... when that name is taken,
    and return where it went. The finished temp file is hard-linked into place, which fails
    rather than replaces a file another process wrote in the meantime (where the file system
    has no hard links, the name is claimed by an exclusive create, then filled)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        writer(Path(tmp))
        os.chmod(tmp, 0o666 & ~_umask())
        for n in range(1, 1000):
            target = path if n == 1 else path.with_name(f"{path.stem}-{n}{path.suffix}")
            try:
                os.link(tmp, target)
                return target
            except FileExistsError:
                continue
            except OSError:
                try:
                    with open(target, "x"):
                        pass
                except FileExistsError:
                    continue
                os.replace(tmp, target)
                return target
        raise ArtifactError(f"{path} and 998 numbered variants of it exist already")
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def atomic_write_text(path: Path | str, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_json(path: Path | str, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=float) + "\n")


def read_json(path: Path | str) -> Any:
    return json.loads(Path(path).read_text())


def write_parquet(path: Path | str, df: pd.DataFrame) -> None:
    with atomic_path(path) as tmp:
        df.to_parquet(tmp, index=False)


def write_csv(path: Path | str, df: pd.DataFrame) -> None:
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)


def save_with(path: Path | str, writer: Callable[[Path], None]) -> None:
    """Atomically write a file through a library's own saver (torch.save, xgb save_model)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        # keep the suffix: XGBoost picks JSON or UBJ from it
        target = tmp.with_suffix(path.suffix)
        writer(target)
        os.replace(target, tmp)


def file_hash(path: Path | str) -> str:
    """A short hash of one file's content (folds.csv, a prediction file), read in blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


def require(path: Path, what: str, how: str) -> Path:
    if not path.exists():
        raise ArtifactError(f"{what} not found: {path}\n  make it first with: {how}")
    return path


# ---- locks ---------------------------------------------------------------------------------


@contextmanager
def exclusive(path: Path | str, what: str) -> Iterator[None]:
    """Hold an advisory lock on `path` (a `.lock` file) while a block writes `what`.

    A second process asking for the same lock is refused at once with an ArtifactError that
    names the holder (pid, host, since when), so two `podium train` of one experiment never
    train the same unit twice nor interleave their records. The lock dies with its process
    (flock), so a killed run never leaves a stale one behind.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 512, 0).decode(errors="replace").strip() or "another process"
            raise LockedError(
                f"{what} is being written by {holder} (lock {path}); wait for it to finish, "
                "or run another fold/seed (--fold/--seed) in parallel"
            ) from None
        os.ftruncate(fd, 0)
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()} since {stamp}".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


def is_locked(path: Path | str) -> bool:
    """Is `path`'s lock held by a live process right now?"""
    path = Path(path)
    if not path.exists():
        return False
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False
