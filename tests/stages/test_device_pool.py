"""`podium train --devices 0,1`: the fold x seed units in parallel, one process per device and
each seeing only its device (on this CPU machine, CUDA device ids stand for processes); a
failed unit is reported with its log while the others finish; a re-run skips what finished."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from factories import copy_demo_head
from podium.cli import main
from podium.config import ConfigError
from podium.units.devices import parse_devices

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
