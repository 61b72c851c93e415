"""`podium train --devices 0,1`: the fold x seed units in parallel, one process per device and
each seeing only its device (on this CPU machine, CUDA device ids stand for processes); a
failed unit is reported with its log while the others finish; a re-run skips what finished;
workers die with a killed parent and their units resume."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from factories import copy_demo_head
from podium.cli import main
from podium.config import ConfigError
from podium.units.devices import _Workers, device_env, parse_devices

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def config(demo_data_root, tmp_path, monkeypatch) -> Path:
    """2 folds x 2 seeds of the tiny model on the first 160 rows of the demo, 1 epoch."""
    data = copy_demo_head(demo_data_root, tmp_path / "data", 160, 8)
    path = tmp_path / "pool.yaml"
    body = {
        "extends": str(ROOT / "configs/digits/base.yaml"),
        "name": "pool",
        "competition": {"solution": None},
        "model": {"name": "test_convnext"},
        "folds": {"n_splits": 2},
        "train": {"epochs": 1, "seeds": [0, 1], "batch_size": 32, "progress": False},
        "data": {"num_workers": 0},
        "paths": {"data": str(data), "runs": str(tmp_path / "runs")},
    }
    path.write_text(yaml.safe_dump(body))
    # the units' processes import this checkout, one thread each
    monkeypatch.setenv("PYTHONPATH", str(ROOT / "src"))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    # ids 0 and 1 pass the device check on a CPU machine; the units then train on the CPU
    monkeypatch.setattr("podium.units.devices.cuda_device_count", lambda: 2)
    return path


@pytest.mark.processes
def test_units_run_two_at_a_time_a_failure_is_reported_and_a_rerun_skips(config, capsys):
    runs = config.parent / "runs/digits/pool"
    broken = runs / "fold1/seed1"
    broken.mkdir(parents=True)
    (broken / "last.pt").write_bytes(b"not a checkpoint")  # this unit cannot resume

    assert main(["train", "-c", str(config), "--devices", "0,1"]) == 2
    out, err = capsys.readouterr()
    assert "1 of 4 units failed (pool fold 1 seed 1: " in err
    assert str(runs / "logs/fold1-seed1.log") in err
    assert "3 done, 0 skipped, 1 failed" in out
    assert "is unreadable" in (runs / "logs/fold1-seed1.log").read_text()
    for f, s in [(0, 0), (0, 1), (1, 0)]:
        assert (runs / f"fold{f}/seed{s}/result.json").exists()
    # one process per device, each seeing only its device
    headers = [p.read_text().splitlines()[0] for p in sorted((runs / "logs").glob("*.log"))]
    assert {h.split()[0] for h in headers} == {"CUDA_VISIBLE_DEVICES=0", "CUDA_VISIBLE_DEVICES=1"}
    assert all("--fold" in h and "--seed" in h for h in headers)

    shutil.rmtree(broken)
    assert main(["train", "-c", str(config), "--devices", "0,1"]) == 0
    out = capsys.readouterr().out
    assert "1 done, 3 skipped, 0 failed" in out
    assert "pool fold 1 seed 1       done" in out
    assert (broken / "result.json").exists()


def test_device_lists_are_checked():
    assert parse_devices("0, 1") == ["0", "1"]
    assert parse_devices("cpu,cpu") == ["cpu", "cpu"]
    with pytest.raises(ConfigError, match="--devices 'gpu0'"):
        parse_devices("gpu0")


def test_cpu_workers_share_the_cores_instead_of_each_taking_them_all(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    assert device_env("cpu", cpu_workers=2)["OMP_NUM_THREADS"] == "4"
    assert device_env("cpu", cpu_workers=16)["OMP_NUM_THREADS"] == "1"
    assert device_env("cpu", cpu_workers=1)["CUDA_VISIBLE_DEVICES"] == ""
    assert "OMP_NUM_THREADS" not in device_env("0", cpu_workers=0)  # a GPU worker: its own
    monkeypatch.setenv("OMP_NUM_THREADS", "3")  # the user's choice stands
    assert device_env("cpu", cpu_workers=2)["OMP_NUM_THREADS"] == "3"


def test_tune_workers_refuse_a_shared_sqlite_file(config, capsys):
    tune = config.parent / "tune.yaml"
    tune.write_text(
        yaml.safe_dump(
            {
                "extends": str(config),
                "tune": {"n_trials": 1, "space": {"train.lr": [0.001, 0.003]}},
            }
        )
    )
    assert main(["tune", "-c", str(tune), "--devices", "cpu,cpu"]) == 2
    assert "set tune.storage to a journal file" in capsys.readouterr().err


def alive(pid: int) -> bool:
    """Is `pid` a live process (a zombie waiting to be reaped is not)?"""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid`."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def wait_for(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the death signal is Linux's (README: macOS)"
)
@pytest.mark.processes
def test_workers_die_with_a_killed_parent_and_a_rerun_resumes_their_units(config, capsys):
    runs = config.parent / "runs/digits/pool"
    # about 5 s of training a unit with the pool's one thread per worker: caught mid-way (at 10
    # epochs a worker could finish its unit between the other's first checkpoint and the kill)
    epochs = "train.epochs=40"
    # fold 0 trained first, here: finished units, skipped by the pool and by the rerun
    assert main(["train", "-c", str(config), "--fold", "0", epochs]) == 0
    log = config.parent / "parent.log"
    with open(log, "w") as out:
        parent = subprocess.Popen(
            [sys.executable, "-m", "podium", "train", "-c", str(config), "--devices", "cpu,cpu"]
            + [epochs],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    assert wait_for(lambda: len(children(parent.pid)) == 2, 120), log.read_text()
    pids = children(parent.pid)
    units = [runs / "fold1/seed0", runs / "fold1/seed1"]
    assert wait_for(lambda: all((u / "last.pt").exists() for u in units), 120), "no training"

    parent.kill()  # SIGKILL: the parent runs no cleanup of its own
    parent.wait()
    assert wait_for(lambda: not any(alive(p) for p in pids), 3), "a worker outlived its parent"
    assert not any((u / "result.json").exists() for u in units)  # left half-written

    capsys.readouterr()
    assert main(["train", "-c", str(config), epochs]) == 0
    out = capsys.readouterr().out
    assert "fold 0 seed 0: done, skipped" in out and "fold 0 seed 1: done, skipped" in out
    for unit in units:  # resumed from the killed run's last.pt, not started over
        resumed = re.search(rf"resuming {unit} at epoch (\d+)/40", out)
        assert resumed and 2 <= int(resumed.group(1)) <= 40, out
        assert (unit / "result.json").exists()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_an_interrupted_pool_ends_its_workers_and_what_they_started(tmp_path):
    """SIGTERM (or Ctrl-C) to the pool's process ends each worker's process group: the
    pool's own machinery, on a shell standing in for a worker (the CLI version would cost
    two start-ups of torch)."""
    workers = _Workers()
    log = tmp_path / "worker.log"
    with open(log, "w") as out:  # the worker starts a process of its own, then waits
        proc = workers.start(["sh", "-c", "sleep 60 & echo $!; wait"], dict(os.environ), out)
    assert proc is not None
    assert wait_for(lambda: log.read_text().strip().isdigit(), 10)
    grandchild = int(log.read_text())
    with pytest.raises(KeyboardInterrupt), workers.ended_if_interrupted():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(10)  # interrupted long before
    assert proc.poll() is not None and wait_for(lambda: not alive(grandchild), 3)
    assert workers.start(["true"], dict(os.environ), None) is None  # none starts after
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # the handler is put back
