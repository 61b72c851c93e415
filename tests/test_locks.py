"""`podium.locks.exclusive`: a held lock refuses a second writer at once, naming the holder,
or lets it wait for a short section (a run's records, which parallel units enter together)."""

from __future__ import annotations

import threading
import time

import pytest

from podium.errors import LockedError
from podium.locks import exclusive, is_locked


def _hold(path, seconds: float, held: threading.Event) -> None:
    with exclusive(path, "the held thing"):
        held.set()
        time.sleep(seconds)


def test_a_second_writer_is_refused_naming_the_holder_or_waits_for_it(tmp_path):
    lock = tmp_path / ".locks" / "run.lock"
    held = threading.Event()
    holder = threading.Thread(target=_hold, args=(lock, 0.5, held))
    holder.start()  # flock locks belong to an open file: a thread's lock excludes this one
    held.wait()
    assert is_locked(lock)
    refused = r"the run folder is being written by pid \d+ on "
    with pytest.raises(LockedError, match=refused), exclusive(lock, "the run folder"):
        pass
    start = time.monotonic()
    with exclusive(lock, "the run folder", wait=30):  # granted once the holder is done
        waited = time.monotonic() - start
        assert not holder.is_alive() or waited > 0
    holder.join()
    assert 0.1 < waited < 30
    assert not is_locked(lock)


def test_a_wait_that_runs_out_is_refused(tmp_path):
    lock = tmp_path / "board.lock"
    held = threading.Event()
    holder = threading.Thread(target=_hold, args=(lock, 1.0, held))
    holder.start()
    held.wait()
    start = time.monotonic()
    refused = "the leaderboard is being written by"
    with pytest.raises(LockedError, match=refused), exclusive(lock, "the leaderboard", wait=0.2):
        pass
    assert time.monotonic() - start < 0.9
    holder.join()
