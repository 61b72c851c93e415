"""`tune.storage` through the CLI (issue #23 item 20): a malformed URL, an unknown database,
a missing driver or a server that refuses is one line naming the key (never a traceback,
never the password), and a storage file's missing folder is made only inside the runs
folder unless the user passes `--mkdir`."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import optuna
import pytest
import yaml
from optuna.trial import TrialState

from podium.cli import main
from podium.stages.tune import _optimize
from podium.tuning.objective import TrainObjective
from podium.tuning.storage import FlockJournalLock, build_storage


@pytest.fixture
def tune_yaml(tiny_config, tmp_path) -> Path:
    """A one-trial study of the tiny model (no holdout), written as a user's tune file."""
    cfg = tiny_config()
    section = {
        "study": "s",
        "n_trials": 1,
        "holdout": False,
        "space": {"train.lr": [0.003, 0.005]},
        "pruner": {"name": "none"},
    }
    path = tmp_path / "tune.yaml"
    path.write_text(yaml.safe_dump({**cfg.resolved(), "tune": section}))
    return path


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.startswith("podium tune: error: "), err
    assert err.count("\n") == 1, err
    return err


@pytest.mark.parametrize(
    "url, message",
    [
        ("postgress://me:secret@db/optuna", "unknown database 'postgress' (did you mean 'postgres"),
        ("postgresql://me@db:port/optuna", "is not a database URL"),
        ("postgresql:/me@db/optuna", "looks like a URL without '//'"),
        ("sqlite://optuna.db", "three slashes before a relative path"),
        ("sqlite:///:memory:", "in-memory SQLite database forgets the study"),
        ("mysql://me@db/optuna", "its driver (mysqldb) is not installed: pip install mysqlclient"),
        ("postgresql://me:secret@127.0.0.1:1/optuna", "cannot open tune.storage"),
    ],
)
def test_a_bad_storage_url_is_one_line_naming_it(tune_yaml, capsys, url, message):
    assert (
        main(["tune", "-c", str(tune_yaml), f"tune.storage='{url}'"]) == 2
    )  # YAML: ':memory:' needs quotes
    err = one_line_error(capsys)
    assert "tune.storage" in err and message in err
    assert "secret" not in err  # the password is hidden (postgresql://me:***@...)
    assert not list(tune_yaml.parent.rglob("trial0000"))  # no trial ran


def test_a_folder_is_not_a_journal_file(tune_yaml, capsys):
    folder = tune_yaml.parent / "studies"
    folder.mkdir()
    assert main(["tune", "-c", str(tune_yaml), f"tune.storage={folder}"]) == 2
    assert f"is a folder; name a journal file in it, e.g. {folder / 'optuna.journal'}" in (
        one_line_error(capsys)
    )


def test_a_missing_folder_outside_the_runs_folder_is_made_only_with_mkdir(tune_yaml, capsys):
    outside = tune_yaml.parent / "elsewhere" / "studies"  # the runs folder is tmp/runs
    db, journal = outside / "optuna.db", outside / "optuna.journal"
    for command in (
        ["tune", "-c", str(tune_yaml), f"tune.storage=sqlite:///{db}"],
        ["tune", "-c", str(tune_yaml), f"tune.storage={journal}", "--devices", "cpu,cpu"],
    ):
        assert main(command) == 2
        err = one_line_error(capsys)
        assert f"the folder {outside} does not exist" in err and "podium tune --mkdir" in err
        assert not (tune_yaml.parent / "elsewhere").exists()  # nothing was made
    assert not (tune_yaml.parent / "runs/digits/tune/s/logs").exists()  # no worker started

    assert main(["tune", "-c", str(tune_yaml), f"tune.storage={journal}", "--mkdir"]) == 0
    assert journal.is_file()
    assert "tune s: 1 complete" in capsys.readouterr().out


def test_a_journal_lock_dies_with_a_worker_killed_while_it_writes(tmp_path):
    """Optuna's own journal locks outlive a killed writer by 30 s, long enough for the other
    workers' trials to miss their heartbeats; podium's flock is free the moment it dies."""
    journal = str(tmp_path / "optuna.journal")
    held = tmp_path / "held"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time, pathlib; from podium.tuning.storage import FlockJournalLock; "
            "FlockJournalLock(sys.argv[1]).acquire(); pathlib.Path(sys.argv[2]).touch(); "
            "time.sleep(60)",
            journal,
            str(held),
        ],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")},
    )
    try:
        deadline = time.monotonic() + 60
        while not held.exists():
            assert holder.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        lock = FlockJournalLock(journal)

        def append() -> None:  # as JournalFileBackend.append_logs does
            lock.acquire()
            lock.release()

        waiting = threading.Thread(target=append)  # blocks while the holder lives
        waiting.start()
        waiting.join(0.5)
        assert waiting.is_alive()
        holder.kill()
        start = time.monotonic()
        waiting.join(10)
        assert not waiting.is_alive() and time.monotonic() - start < 2
    finally:
        holder.kill()
        holder.wait()
    # and the storage podium opens on a journal file uses it
    storage = build_storage(journal, heartbeat=1)
    assert isinstance(storage._backend._lock, FlockJournalLock)


class _LateWorker(TrainObjective):
    """A worker whose first trial is failed as stale under it (as another worker does when
    its heartbeats come late), then trains on."""

    def __post_init__(self) -> None:
        pass

    def __call__(self, trial: optuna.Trial) -> float:
        if trial.number == 0:
            trial.study._storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
            self._note_if_failed_meanwhile(trial, SimpleNamespace(run_dir=Path("trial0000")))
        return float(trial.number)


def test_a_worker_whose_trial_was_failed_under_it_goes_on_with_its_other_trials(caplog):
    study = optuna.create_study(direction="maximize")
    worker = _LateWorker(cfg=None, tune=None, study_name="s")
    tune = SimpleNamespace(n_trials=3, timeout=None, mode="meta")
    with caplog.at_level("WARNING", logger="podium.tuning.objective"):
        _optimize(study, worker, tune, callbacks=[])
    states = [t.state for t in study.get_trials()]
    assert states == [TrialState.FAIL, TrialState.COMPLETE, TrialState.COMPLETE]
    assert worker.failed_under_us == [0]
    assert "trial 0 was failed as stale while this worker trained it" in caplog.text
