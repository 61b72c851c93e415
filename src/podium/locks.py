"""Advisory locks (flock on a `.lock` file) that keep two processes from writing the same
thing: a unit's training, a run folder's records, a leaderboard file. A lock dies with its
process, so a killed run never leaves a stale one; a read-only runs/ needs none (nothing
can be written there, by us or anyone).
"""

from __future__ import annotations

import fcntl
import logging
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from podium.artifacts import FULL, READ_ONLY
from podium.errors import LockedError

_log = logging.getLogger(__name__)


@contextmanager
def exclusive(path: Path | str, what: str, wait: float = 0.0) -> Iterator[None]:
    """Hold an advisory lock on `path` (a `.lock` file) while a block writes `what`.

    A second process asking for the same lock is refused (at once, or after `wait` seconds:
    for short sections such as a run's records, which parallel units enter together; a
    tune retry waits for as long as its trial's first worker lives: `wait=math.inf`) with an
    ArtifactError that names the holder (pid, host, since when), so two `podium train` of one
    experiment never train the same unit twice nor interleave their records. The lock dies
    with its process (flock), so a killed run never leaves a stale one behind.
    """
    path = Path(path)
    fd = _open_lock(path)
    if fd is None:  # a read-only runs/: nothing can be written there, by us or anyone
        yield
        return
    try:
        deadline, told = time.monotonic() + wait, False
        while not _try_flock(fd):
            holder = os.pread(fd, 512, 0).decode(errors="replace").strip() or "another process"
            if time.monotonic() >= deadline:
                raise LockedError(
                    f"{what} is being written by {holder} (lock {path}); wait for it to "
                    "finish, or run another fold/seed (--fold/--seed) in parallel"
                )
            if not told and wait >= 5:  # a long wait says what it waits for, once
                _log.info("waiting for %s: it is being written by %s", what, holder)
                told = True
            time.sleep(0.05)
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        with suppress(OSError):  # a lock opened read-only keeps its old holder line
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()} since {stamp}".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


def _try_flock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _open_lock(path: Path) -> int | None:
    """The lock file's descriptor: read-write (created when missing), else read-only where
    the folder is read-only (flock works on either); None when it cannot even be read."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as e:
        if e.errno not in READ_ONLY and e.errno not in FULL:
            raise
    try:
        return os.open(path, os.O_RDONLY)
    except OSError:
        _log.debug("no lock %s: its folder is read-only", path)
        return None


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
