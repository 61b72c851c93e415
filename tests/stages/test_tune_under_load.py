"""Four `podium tune` workers on one study, one of them killed with SIGKILL mid-trial (issue
#23 item 24), on a real PostgreSQL server and on the journal file: every trial is accounted
for. The killed trial is failed once its heartbeat is stale and retried once (same
parameters, same run folder, resumed from its last.pt); nothing is lost, run twice or left
RUNNING, and the other workers finish their trials.

PostgreSQL is a throwaway cluster in a temp folder on a free loopback port. Without it the
test FAILS (`.ci/run` installs Debian's `postgresql`); PODIUM_SKIP_POSTGRES=1 skips it,
saying so, where PostgreSQL cannot be installed.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest
import yaml
from optuna.trial import TrialState

from factories import copy_demo_head
from podium.cli import main
from podium.tuning.storage import build_storage

pytestmark = pytest.mark.processes  # a minute or more of several processes

ROOT = Path(__file__).resolve().parents[2]
WORKERS, TRIALS, EPOCHS, HEARTBEAT = 4, 2, 10, 2


def postgres_bin() -> Path | None:
    """Where initdb and pg_ctl are: on PATH, or Debian's /usr/lib/postgresql/<v>/bin."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    debian = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(debian[-1]).parent if debian else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server for this module, trusting loopback connections; stopped and
    deleted afterwards. As root it runs as the `postgres` user (initdb refuses root)."""
    bin_dir = postgres_bin()
    if bin_dir is None:
        if os.environ.get("PODIUM_SKIP_POSTGRES") == "1":
            pytest.skip("PostgreSQL is not installed and PODIUM_SKIP_POSTGRES=1")
        pytest.fail(
            "PostgreSQL is not installed (no initdb on PATH or in /usr/lib/postgresql/*/bin): "
            "apt-get install -y postgresql (.ci/run does), or PODIUM_SKIP_POSTGRES=1 to skip"
        )
    work = Path(tempfile.mkdtemp(prefix="podium-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(work, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = work / "data", free_port()
    server = f"-p {port} -k {work} -c listen_addresses=127.0.0.1 -c fsync=off"

    def pg(*args: str) -> None:
        subprocess.run([*as_user, *args], check=True, capture_output=True, timeout=120)

    pg(str(bin_dir / "initdb"), "-D", str(data), "-U", "podium", "--auth=trust", "--no-sync")
    pg(
        str(bin_dir / "pg_ctl"),
        "-D",
        str(data),
        "-l",
        str(work / "log"),
        "-o",
        server,
        "-w",
        "start",
    )
    try:
        yield f"postgresql://podium@127.0.0.1:{port}/postgres"
    finally:
        pg(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(work, ignore_errors=True)


def victim_trial(tune_dir: Path, pid: int) -> Path | None:
    """The trial folder that worker `pid` is training right now, past its first epoch: its
    unit lock names the pid, and its last.pt (removed when a trial ends) exists."""
    for lock in tune_dir.glob("trial*/.locks/fold0-seed0.lock"):
        trial = lock.parent.parent
        try:
            held_by = lock.read_text()
        except FileNotFoundError:
            continue
        if held_by.startswith(f"pid {pid} ") and (trial / "fold0/seed0/last.pt").exists():
            return trial
    return None


@pytest.mark.parametrize("storage", ["postgresql", "journal"])
def test_four_workers_lose_no_trial_when_one_is_killed_mid_trial(
    storage, request, demo_data_root, tmp_path, monkeypatch, capsys
):
    url = (
        request.getfixturevalue("postgres_url")
        if storage == "postgresql"
        else str(tmp_path / "optuna.journal")
    )
    data = copy_demo_head(demo_data_root, tmp_path / "data", 160, 8)
    config = tmp_path / "tune.yaml"
    body = {
        "extends": str(ROOT / "configs/digits/base.yaml"),
        "name": "load",
        "competition": {"solution": None},
        "model": {"name": "test_convnext"},
        "folds": {"n_splits": 2},
        "train": {"epochs": EPOCHS, "batch_size": 32, "progress": False},
        "data": {"num_workers": 0},
        "paths": {"data": str(data), "runs": str(tmp_path / "runs")},
        "tune": {
            "study": "s",
            "storage": url,
            "n_trials": TRIALS,
            "heartbeat": HEARTBEAT,  # a dead worker's trial is stale after 6 s
            "holdout": False,
            "space": {"train.lr": {"type": "float", "low": 1e-3, "high": 1e-2, "log": True}},
            "pruner": {"name": "none"},
        },
    }
    config.write_text(yaml.safe_dump(body))
    monkeypatch.setenv("PYTHONPATH", str(ROOT / "src"))  # the workers import this checkout
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert main(["folds", "-c", str(config)]) == 0  # made once, before the workers race
    tune_dir = tmp_path / "runs/digits/tune/s"

    logs = [tmp_path / f"worker{i}.log" for i in range(WORKERS)]
    workers = []
    for i, log in enumerate(logs):
        with open(log, "w") as out:
            workers.append(
                subprocess.Popen(
                    [sys.executable, "-m", "podium", "tune", "-c", str(config)]
                    + [f"tune.sampler.seed={i + 1}"],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            )
    victim = workers[0]
    deadline = time.time() + 300
    while (killed := victim_trial(tune_dir, victim.pid)) is None:
        assert victim.poll() is None and time.time() < deadline, logs[0].read_text()
        time.sleep(0.02)
    victim.kill()
    killed_at = time.time()
    assert victim.wait() == -9
    for w, log in zip(workers[1:], logs[1:], strict=True):
        assert w.wait(timeout=300) == 0, log.read_text()  # the study went on

    # one more run, after the grace period: the killed trial is retried here unless a
    # surviving worker already did (how fast they were decides which; the count does not)
    time.sleep(max(0.0, killed_at + 3 * HEARTBEAT + 0.5 - time.time()))
    capsys.readouterr()
    assert main(["tune", "-c", str(config), "tune.n_trials=1"]) == 0
    outputs = capsys.readouterr().out + "".join(log.read_text() for log in logs)

    study = optuna.load_study(study_name="s", storage=build_storage(url, None))
    trials = study.get_trials(deepcopy=False)
    assert sorted(t.number for t in trials) == list(range(len(trials)))
    states = [t.state for t in trials]
    # survivors' trials + this run's + the killed one (the victim finished none)
    assert len(trials) == (WORKERS - 1) * TRIALS + 1 + 1
    assert (
        states.count(TrialState.FAIL) == 1 and states.count(TrialState.COMPLETE) == len(trials) - 1
    )
    failed = next(t for t in trials if t.state == TrialState.FAIL)
    assert tune_dir / Path(failed.user_attrs["run_name"]).name == killed
    retries = [t for t in trials if t.system_attrs.get("failed_trial") == failed.number]
    assert len(retries) == 1  # retried once, by one worker
    retry = retries[0]
    assert (
        retry.params == failed.params
        and retry.user_attrs["run_name"] == failed.user_attrs["run_name"]
    )
    # the retry resumed the killed trial's unit from its last.pt, in the same folder
    assert re.search(rf"resuming {killed}/fold0/seed0 at epoch ([2-9]|10)/{EPOCHS}", outputs)
    assert (killed / "fold0/seed0/result.json").exists()
    # every other trial trained once, in its own folder, with its own parameters
    others = [t for t in trials if t.number not in (failed.number, retry.number)]
    assert (
        len({t.user_attrs["run_name"] for t in others} | {retry.user_attrs["run_name"]})
        == len(others) + 1
    )
    assert (
        len({t.params["train.lr"] for t in others} | {failed.params["train.lr"]}) == len(others) + 1
    )
    for t in [*others, retry]:
        assert (
            tmp_path / "runs/digits" / t.user_attrs["run_name"] / "fold0/seed0/result.json"
        ).exists()
