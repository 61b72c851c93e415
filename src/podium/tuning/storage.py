"""The study's storage: `tune.storage` checked before anything is opened or made, its
folder made only where podium owns the disk, and the storage opened with a heartbeat.

What a storage can be: an RDB URL (has "://": `sqlite:///runs/x.db`, `postgresql://...`),
checked with SQLAlchemy's own parser, dialect registry and driver import, so a typo
(`postgress://`, `sqlite://x.db`) or a missing driver is one line naming the key; or a
journal file path (no "://"), Optuna's safe storage for several processes on one host.

Where files go: a database or journal file whose folder is missing gets that folder made
only inside the runs folder (`paths.runs`, podium's own tree); anywhere else the user says
so with `podium tune --mkdir`, so that a typo like `sqlite:////nonexistent/x.db` cannot make
folders at the root of the file system.

Why a heartbeat on both kinds: a worker killed mid-trial (SIGKILL, a lost machine) leaves
its trial RUNNING forever unless someone notices. Optuna's RDB storage beats for each
running trial; a trial that misses its beats for `grace` seconds is failed by the next
worker that starts a trial, and `RetryHeartbeatStaleTrialCallback` queues it once more with
its user attributes (so the retry trains in the same run folder and resumes from its
`last.pt`). Optuna's journal storage has no heartbeat, so `HeartbeatJournalStorage` keeps
the same protocol in each trial's system attributes (one journal line per beat), and the
same Optuna loop fails and retries its stale trials.

Why the journal file is locked with flock: Optuna's own journal locks (a symlink or an
O_EXCL file, for NFS) outlive a worker killed while it appends, and every other worker then
waits 30 s before breaking the lock: long enough for their own running trials to miss their
heartbeats and be failed as stale. `FlockJournalLock` dies with its process, as podium's
other locks do (`podium.locks`); a journal shared over NFS needs NFSv4 (Linux emulates
flock there with byte-range locks).
"""

from __future__ import annotations

import difflib
import fcntl
import os
import re
import threading
import time
import warnings
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import optuna
import sqlalchemy.dialects
import sqlalchemy.exc
from optuna.exceptions import ExperimentalWarning, UpdateFinishedTrialError
from optuna.storages import JournalStorage, RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.storages._heartbeat import BaseHeartbeat
from optuna.storages.journal import BaseJournalBackend, JournalFileBackend

# the base of Optuna's journal locks, which it does not export; its two methods are the
# whole contract (JournalFileBackend calls acquire, then release)
from optuna.storages.journal._file import BaseJournalFileLock
from optuna.trial import FrozenTrial, TrialState
from sqlalchemy.engine import URL, make_url

from podium.config import ConfigError

# a backend named without its driver: the one the README names (psycopg 3, the dev extra)
_INSTALLED_DRIVERS = {"postgresql": "psycopg"}
# what to `pip install` when a driver module is missing (SQLAlchemy names the module)
_DRIVER_PACKAGES = {
    "psycopg": "psycopg[binary]",
    "psycopg2": "psycopg2-binary",
    "MySQLdb": "mysqlclient",
    "pymysql": "PyMySQL",
}
HEARTBEAT_ATTR = "podium:heartbeat"  # journal trials: time.time() of the last beat


@dataclass(frozen=True)
class StorageTarget:
    """A checked `tune.storage`: what it is and, for a file, which file."""

    url: str  # as written: what Optuna opens
    shown: str  # for messages and reports: the password hidden
    kind: Literal["rdb", "journal"]
    file: Path | None  # the SQLite database or journal file; None for a database server


def parse_storage(url: str, where: str) -> StorageTarget:
    """Check `url` without opening or making anything; `where` names the config for errors.
    Raises ConfigError with one line naming the storage and what is wrong."""
    if not url.strip():
        raise ConfigError(f"{where}: tune.storage is empty; leave it out for the default")
    if "://" in url:
        return _parse_rdb(url, where)
    scheme = re.match(r"([A-Za-z][A-Za-z0-9+.-]+):", url)
    if scheme:  # one letter is a Windows drive (C:\...), more looks like a URL without //
        raise ConfigError(
            f"{where}: tune.storage {url!r} looks like a URL without '//' after "
            f"'{scheme.group(1)}:'; an RDB URL reads e.g. postgresql://user@host/db, and a "
            "journal file is a plain path"
        )
    path = Path(url).expanduser()
    if path.is_dir():
        raise ConfigError(
            f"{where}: tune.storage {url!r} is a folder; name a journal file in it, "
            f"e.g. {path / 'optuna.journal'}"
        )
    return StorageTarget(url, url, "journal", path)


def _with_installed_driver(parsed: URL) -> URL:
    """`postgresql://` with the driver the README names (psycopg 3) where SQLAlchemy's default
    for it is missing (psycopg2, the default before SQLAlchemy 2.1, which Python 3.10's lock
    holds); the URL unchanged where it names a driver or the default is installed."""
    driver = _INSTALLED_DRIVERS.get(parsed.drivername)
    if driver is None:
        return parsed
    try:
        parsed.get_dialect().import_dbapi()
    except ImportError:
        return parsed.set(drivername=f"{parsed.drivername}+{driver}")
    return parsed


def _parse_rdb(url: str, where: str) -> StorageTarget:
    try:
        parsed = make_url(url)
    except (sqlalchemy.exc.ArgumentError, ValueError) as e:
        raise ConfigError(
            f"{where}: tune.storage {url!r} is not a database URL ({e}); expected "
            "dialect[+driver]://user[:password]@host[:port]/database, e.g. "
            "postgresql://user@host/optuna, or a journal file path"
        ) from None
    shown = parsed.render_as_string(hide_password=True)
    what = f"{where}: tune.storage {shown}"
    with_driver = _with_installed_driver(parsed)
    if with_driver is not parsed:  # what Optuna opens; messages show the URL as written
        parsed, url = with_driver, with_driver.render_as_string(hide_password=False)
    try:
        dialect = parsed.get_dialect()
    except sqlalchemy.exc.NoSuchModuleError:
        known = list(sqlalchemy.dialects.__all__)
        close = difflib.get_close_matches(parsed.get_backend_name(), known, n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(
            f"{what}: unknown database {parsed.drivername!r}{hint}; SQLAlchemy knows "
            f"{', '.join(known)}"
        ) from None
    try:
        dialect.import_dbapi()
    except ImportError as e:
        package = _DRIVER_PACKAGES.get(e.name or "", e.name)
        raise ConfigError(
            f"{what}: its driver ({dialect.driver}) is not installed: pip install {package}"
        ) from None
    if parsed.get_backend_name() != "sqlite":
        return StorageTarget(url, shown, "rdb", None)
    return StorageTarget(url, shown, "rdb", _sqlite_file(parsed, what))


def _sqlite_file(parsed: URL, what: str) -> Path:
    if parsed.host:  # sqlite://x.db: "x.db" is read as a host
        raise ConfigError(
            f"{what}: a SQLite URL has three slashes before a relative path and four before "
            f"an absolute one (sqlite:///runs/x.db, sqlite:////abs/x.db), not "
            f"sqlite://{parsed.host}"
        )
    if not parsed.database or parsed.database == ":memory:":
        raise ConfigError(
            f"{what}: an in-memory SQLite database forgets the study when the command ends; "
            "name a file, e.g. sqlite:///runs/<comp>/optuna.db"
        )
    path = Path(parsed.database).expanduser()
    if path.is_dir():
        raise ConfigError(f"{what}: {path} is a folder; name a database file in it")
    return path


def prepare_folder(target: StorageTarget, runs: Path, mkdir: bool, where: str) -> None:
    """Make the folder of a storage file: inside `runs` always, elsewhere only with `mkdir`
    (`podium tune --mkdir`); a missing folder outside is an error naming both ways out."""
    if target.file is None:
        return
    folder = target.file.absolute().parent
    if folder.is_dir():
        return
    if not (mkdir or folder.resolve().is_relative_to(runs.resolve())):
        raise ConfigError(
            f"{where}: tune.storage {target.shown}: the folder {folder} does not exist; "
            f"podium makes folders itself only inside the runs folder ({runs}): create it, "
            "or run `podium tune --mkdir` to have it made"
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(
            f"{where}: tune.storage {target.shown}: cannot make {folder}: {e.strerror}"
        ) from None


class FlockJournalLock(BaseJournalFileLock):
    """The journal file's write lock (`<journal>.lock`), an flock that dies with its process.
    Each thread takes its own descriptor (flock excludes across descriptors, so a worker's
    heartbeat thread and its main thread exclude each other too)."""

    def __init__(self, journal: str) -> None:
        self._path = f"{journal}.lock"
        self._held = threading.local()

    def acquire(self) -> bool:
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # blocks; a dead holder's lock is already gone
        except BaseException:
            os.close(fd)
            raise
        self._held.fd = fd
        return True

    def release(self) -> None:
        fd = self._held.fd
        del self._held.fd
        os.close(fd)  # releases the lock


class HeartbeatJournalStorage(JournalStorage, BaseHeartbeat):
    """A journal file with Optuna's heartbeat protocol (see the module docstring): each
    running trial's last beat is its system attribute `podium:heartbeat`, and a RUNNING
    trial that has neither beaten nor started within `grace_period` seconds is stale.

    Two workers may find the same stale trial: the journal applies the first FAIL and
    answers the second with UpdateFinishedTrialError, which Optuna's `fail_stale_trials`
    expects, so the trial is retried once."""

    def __init__(
        self,
        backend: BaseJournalBackend,
        heartbeat_interval: int,
        grace_period: int,
        stale_callback: Callable[[optuna.Study, FrozenTrial], None] | None,
    ) -> None:
        super().__init__(backend)
        self._heartbeat_interval = heartbeat_interval
        self._grace_period = grace_period
        self._stale_callback = stale_callback

    def record_heartbeat(self, trial_id: int) -> None:
        # a trial failed as stale meanwhile (its process was frozen past the grace period)
        # refuses the beat; its worker learns so when it reports the result
        with suppress(UpdateFinishedTrialError):
            self.set_trial_system_attr(trial_id, HEARTBEAT_ATTR, time.time())

    def _get_stale_trial_ids(self, study_id: int) -> list[int]:
        now = time.time()
        stale = []
        for t in self.get_all_trials(study_id, deepcopy=False, states=(TrialState.RUNNING,)):
            # a retry inherits its failed trial's attributes: its own start counts as a beat
            started = t.datetime_start.timestamp() if t.datetime_start else 0.0
            if now - max(t.system_attrs.get(HEARTBEAT_ATTR, 0.0), started) > self._grace_period:
                stale.append(t._trial_id)
        return stale

    def get_heartbeat_interval(self) -> int | None:
        return self._heartbeat_interval

    def get_heartbeat_stale_trial_callback(
        self,
    ) -> Callable[[optuna.Study, FrozenTrial], None] | None:
        return self._stale_callback


def build_storage(url: str, heartbeat: int | None) -> optuna.storages.BaseStorage:
    """Open a checked storage (`parse_storage`; its folder made). With `heartbeat` seconds,
    a killed worker's trial is failed after 3 missed beats and re-queued once."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)
        retry: dict[str, Any] = {}
        if heartbeat is not None:
            retry = dict(
                heartbeat_interval=heartbeat,
                grace_period=3 * heartbeat,
                heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(
                    max_retry=1, inherit_intermediate_values=True
                ),
            )
        if "://" not in url:
            backend = JournalFileBackend(url, lock_obj=FlockJournalLock(url))
            if heartbeat is None:
                return JournalStorage(backend)
            return HeartbeatJournalStorage(
                backend,
                retry["heartbeat_interval"],
                retry["grace_period"],
                retry["heartbeat_stale_trial_callback"],
            )
        engine_kwargs: dict[str, Any] = {}
        if url.startswith("sqlite:"):
            # wait for another worker's write lock instead of failing at once
            engine_kwargs["connect_args"] = {"timeout": 60}
        attempts = 5
        for attempt in range(1, attempts + 1):
            try:
                return RDBStorage(url, engine_kwargs=engine_kwargs, **retry)
            except (
                sqlalchemy.exc.IntegrityError,
                sqlalchemy.exc.OperationalError,
                sqlalchemy.exc.ProgrammingError,
            ):
                # workers creating the same fresh database race on its tables and its
                # version row; the losers find them made on the next try
                if attempt == attempts:
                    raise
                time.sleep(0.2 * attempt)
        raise AssertionError("unreachable: the last attempt returns or raises")


def open_storage(
    target: StorageTarget, heartbeat: int | None, where: str
) -> optuna.storages.BaseStorage:
    """`build_storage`, with what the database or file system answers (a server that
    refuses the connection, a file that is not a database) as one line naming the storage."""
    try:
        return build_storage(target.url, heartbeat)
    except (sqlalchemy.exc.SQLAlchemyError, OSError, ValueError) as e:
        first = next((line for line in str(e).splitlines() if line.strip()), type(e).__name__)
        raise ConfigError(f"{where}: cannot open tune.storage {target.shown}: {first}") from None
