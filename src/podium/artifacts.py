"""Where every artifact lives and how it is written: atomically (temp file + rename), so a
killed process never leaves a half-written file that a later stage would trust; and read
back with checks (the fold hash, the ids) so artifacts made on different folds never mix.

Every write goes through `atomic_path` or `write_new`, which makes them the one place where:
- a full disk (ENOSPC, a quota) or a read-only folder becomes a one-line ArtifactError that
  names the file and, for a full disk, the space it needs; the temporary file is removed on
  every error path;
- a text file whose content is already there is not rewritten (so a stage with nothing to
  do writes nothing, and works on a read-only runs/);
- tests kill a process after its n-th finished write (`PODIUM_KILL_AFTER_WRITES=n`: SIGKILL,
  no cleanup, as a power cut or the OOM killer would), to check that every stage leaves
  either its old stamped outputs or no stamp at all.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import shutil
import signal
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pandas as pd

from podium.errors import ArtifactError

__all__ = ["ArtifactError"]

_log = logging.getLogger(__name__)
KILL_AFTER_WRITES = "PODIUM_KILL_AFTER_WRITES"  # the test seam (see the module's docstring)
_writes_done = 0
FULL = (errno.ENOSPC, errno.EDQUOT)
READ_ONLY = (errno.EROFS, errno.EACCES, errno.EPERM)


def _landed() -> None:
    """Called once a write is in place (renamed or linked): counts it for the test seam."""
    global _writes_done
    _writes_done += 1
    limit = os.environ.get(KILL_AFTER_WRITES)
    if limit and _writes_done >= int(limit):
        os.kill(os.getpid(), signal.SIGKILL)


def _size(n: float) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e5 else f"{n / 1e3:.1f} KB"


def write_error(
    path: Path, error: OSError, partial: int = 0, needed: int | None = None
) -> ArtifactError | None:
    """The user's view of a failed write: a full disk with the space it needs, a read-only
    folder by name; None for any other OSError (a bug to see in full)."""
    if error.errno in FULL:
        try:
            free = _size(shutil.disk_usage(path.parent).free) + " free"
        except OSError:
            free = "free space unknown"
        need = f"about {_size(needed)}" if needed else f"more than the {_size(partial)} written"
        return ArtifactError(
            f"{path}: no space left on the device ({free}; this file needs {need}); free some "
            "space (or point paths.runs at a larger disk) and re-run: finished work is kept"
        )
    if error.errno in READ_ONLY:
        return ArtifactError(
            f"{path}: cannot be written ({os.strerror(error.errno or 0)}): {path.parent} is "
            "read-only to this process; make it writable, or point paths.runs elsewhere"
        )
    return None


def _temp_size(tmp: str | Path) -> int:
    return os.path.getsize(tmp) if os.path.exists(tmp) else 0


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


def _temp_beside(path: Path) -> str:
    """A new temporary file beside `path` (its folder made); a full or read-only disk is the
    user's one-line error."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise write_error(path, e) or e from None
    os.close(fd)
    return tmp


@contextmanager
def atomic_path(path: Path | str, needed: int | None = None) -> Iterator[Path]:
    """Yield a temp path beside `path`; rename it over `path` only if the block succeeds.
    The file gets the mode any new file would (0666 less the umask), not mkstemp's 0600.
    A full disk or a read-only folder is an ArtifactError naming `path` (and `needed`
    bytes, when the caller knows them); the temp file never outlives the block."""
    path = Path(path)
    tmp = _temp_beside(path)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except OSError as e:
        written = _temp_size(tmp)
        _discard(tmp)  # first: the free space the message reports is the real one
        raise write_error(path, e, written, needed) or e from None
    finally:
        _discard(tmp)
    _landed()


@contextmanager
def atomic_folder(out: Path) -> Iterator[Path]:
    """Yield an empty temporary folder beside `out`; when the block succeeds it replaces `out`
    (a folder written whole, as the demo competitions are), and it never outlives the block."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        yield tmp
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def _discard(tmp: str) -> None:
    with suppress(FileNotFoundError):
        os.unlink(tmp)


def write_new(path: Path | str, writer: Callable[[Path], None]) -> Path:
    """Write a new file at `path`, or at `<stem>-2<suffix>`, `-3`... when that name is taken,
    and return where it went. The finished temp file is hard-linked into place, which fails
    rather than replaces a file another process wrote in the meantime (where the file system
    has no hard links, the name is claimed by an exclusive create, then filled)."""
    path = Path(path)
    tmp = _temp_beside(path)
    try:
        writer(Path(tmp))
        os.chmod(tmp, 0o666 & ~_umask())
        target = _claim(path, tmp)
    except OSError as e:
        written = _temp_size(tmp)
        _discard(tmp)
        raise write_error(path, e, written) or e from None
    finally:
        _discard(tmp)
    _landed()
    return target


def _claim(path: Path, tmp: str) -> Path:
    """Put the finished `tmp` at the first free name of `path`, `path-2`, ..."""
    for n in range(1, 1000):
        target = path if n == 1 else path.with_name(f"{path.stem}-{n}{path.suffix}")
        try:
            os.link(tmp, target)
            return target
        except FileExistsError:
            continue
        except OSError as e:
            if e.errno in FULL or e.errno in READ_ONLY:
                raise
            try:
                with open(target, "x"):
                    pass
            except FileExistsError:
                continue
            os.replace(tmp, target)
            return target
    raise ArtifactError(f"{path} and 998 numbered variants of it exist already")


def atomic_write_text(path: Path | str, text: str) -> None:
    """Write `text` atomically, unless the file holds exactly that already (a stage with
    nothing new to say writes nothing: it works on a read-only runs/)."""
    path = Path(path)
    try:
        if path.is_file() and path.read_text() == text:
            return
    except (OSError, UnicodeDecodeError):
        pass
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_json(path: Path | str, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=float) + "\n")


def remove(path: Path | str) -> None:
    """Delete a file if it exists; a read-only folder is the user's one-line error."""
    path = Path(path)
    try:
        path.unlink(missing_ok=True)
    except OSError as e:
        raise write_error(path, e) or e from None


def read_json(path: Path | str) -> Any:
    return json.loads(Path(path).read_text())


def write_parquet(path: Path | str, df: pd.DataFrame) -> None:
    with atomic_path(path) as tmp:
        df.to_parquet(tmp, index=False)


def write_csv(path: Path | str, df: pd.DataFrame) -> None:
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)


def save_with(path: Path | str, writer: Callable[[Path], None], needed: int | None = None) -> None:
    """Atomically write a file through a library's own saver (torch.save, xgb save_model);
    `needed`: the bytes it will take, for the message of a full disk."""
    path = Path(path)
    with atomic_path(path, needed) as tmp:
        # keep the suffix: XGBoost picks JSON or UBJ from it
        target = tmp.with_suffix(path.suffix)
        try:
            writer(target)
            os.replace(target, tmp)
        except Exception as e:  # torch reports a full disk as a RuntimeError of its own
            if isinstance(e, OSError) or not disk_full(path.parent, needed or _temp_size(target)):
                raise
            raise OSError(errno.ENOSPC, f"writing {path.name} failed: {e}") from e
        finally:
            if target.exists():
                target.unlink()


def disk_full(folder: Path, needed: int) -> bool:
    """Whether `folder`'s device has less than `needed` bytes (at least one block) free."""
    try:
        return shutil.disk_usage(folder).free < max(needed, 4096)
    except OSError:
        return False


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
