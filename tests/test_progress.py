"""What a user reads while a command runs: a line per stage with its time, a line per trained
unit with the time left, and no per-batch bars where the output is not a terminal (a CI log)."""

from __future__ import annotations

import io
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

from podium import progress

ROOT = Path(__file__).resolve().parents[1]


def test_a_command_logged_to_a_file_prints_stage_and_unit_lines_without_bars(
    tmp_path, demo_data_root
):
    config = tmp_path / "tiny.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "extends": str(ROOT / "configs" / "digits" / "base.yaml"),
                "name": "tiny",
                "model": {"name": "test_convnext"},
                "folds": {"n_splits": 2},
                "train": {"epochs": 1, "progress": True},  # its epoch lines (and bars, if on)
                "infer": {"tta": ["identity"], "batch_size": 512},
                "paths": {
                    "data": str(demo_data_root),
                    "runs": str(tmp_path / "runs"),
                    "submissions": str(tmp_path / "submissions"),
                },
            }
        )
    )
    run = subprocess.run(  # stdout and stderr are pipes, as in CI: no terminal
        [sys.executable, "-m", "podium", "submit", "-c", str(config)],
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert run.returncode == 0, run.stderr
    out = run.stdout
    for stage in ("folds", "train", "oof", "infer"):
        assert f"] {stage} tiny: done in 0:" in out, stage
    # after the first unit, its epoch time prices the one epoch still to train
    assert "] trained 1/2 units (tiny fold 0 seed 0); under a minute of training left" in out
    assert "] trained 2/2 units (tiny fold 1 seed 0)" in out
    assert "epoch   1/1  loss" in out  # one line per epoch instead of a bar
    assert "valid accuracy" in out and "  log_loss " in out  # the task's own proper score
    assert re.search(r"^\[\d+:\d\d\] podium submit: finished in \d+:\d\d$", out, re.MULTILINE)
    both = run.stdout + run.stderr
    assert "\r" not in both and "it/s" not in both and "%|" not in both  # no tqdm bar


def test_the_estimate_prices_epochs_left_at_measured_epoch_times(tiny_config, caplog):
    """Early stopping removes a unit's remaining epochs from the estimate; an experiment that
    has not trained yet is priced at the epochs measured so far."""
    first = tiny_config("train.epochs=4", "name=first")
    second = tiny_config("train.epochs=2", "name=second")
    tracker = progress.start("train")
    tracker.expect([first, second])  # 2 folds x 4 epochs + 2 folds x 2 epochs
    with (
        caplog.at_level(logging.INFO, logger="podium"),
        tracker.unit(first, 0, 0, None) as epoch_end,
    ):
        epoch_end(0, {"seconds": 30.0})
        epoch_end(1, {"seconds": 30.0})  # then stopped early: 2 of its 4 epochs unused
    # first: 4 epochs of fold 1 at 30 s; second: 4 epochs at the mean so far, 30 s
    line = caplog.messages[-1]
    assert line.endswith("trained 1/4 units (first fold 0 seed 0); about 4 min of training left")


def test_a_unit_that_will_resume_counts_only_its_epochs_left(tiny_config):
    cfg = tiny_config("train.epochs=5", "folds.n_splits=2")
    unit = cfg.run_dir / "fold0" / "seed0"
    unit.mkdir(parents=True)
    (unit / "last.pt").write_bytes(b"")
    (unit / "history.csv").write_text("epoch,train_loss\n1,0.9\n2,0.8\n3,0.7\n")
    finished = cfg.run_dir / "fold1" / "seed0"
    finished.mkdir(parents=True)
    (finished / "result.json").write_text("{}")
    tracker = progress.start("train")
    tracker.expect([cfg])
    plan = tracker.planned[cfg.run_dir]
    assert (plan.units_left, plan.epochs_left) == (1, 2)


def test_bars_only_on_a_terminal(monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delitem(sys.modules, "ipykernel", raising=False)
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert not progress.bars()
    monkeypatch.setattr(sys, "stderr", Terminal())
    assert progress.bars()
