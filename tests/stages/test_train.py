"""`podium train` end to end on the demo competition (folds -> 2 folds x 1 epoch of a tiny
model -> checkpoints and history), the skip of finished units, and the refusal to mix
artifacts made on other folds or under another training config."""

from __future__ import annotations

import logging
import time

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from podium.artifacts import ArtifactError, file_hash, read_json
from podium.engine.checkpoint import load_checkpoint
from podium.engine.trainer import TrainRows
from podium.experiment import Experiment
from podium.fingerprint import fingerprint
from podium.stages import folds as folds_stage
from podium.stages import train as train_stage
from podium.units import train as units_train
from podium.units.stamps import training_config
from podium.units.train import train_units


def test_end_to_end_folds_then_train(tiny_config, caplog):
    cfg = tiny_config()
    folds_stage.run(cfg)
    exp = Experiment(cfg)
    results = train_stage.run(exp)
    assert set(results) == {(0, 0), (1, 0)}
    for fold in (0, 1):
        unit = exp.unit_dir(fold, 0)
        assert {p.name for p in unit.iterdir()} == {
            "best.pt",
            "last.pt",
            "history.csv",
            "result.json",
            "started.json",  # the inputs it started from: a resume on other data is refused
        }
        history = pd.read_csv(unit / "history.csv")
        assert list(history["epoch"]) == [1] and history["valid_accuracy"][0] > 0.3
        assert load_checkpoint(unit / "best.pt")["epoch"] == 1
        assert read_json(unit / "result.json")["best_score"] == results[(fold, 0)]["best_score"]

    meta = read_json(exp.run_dir / "run.json")
    assert meta == {
        "kind": "cnn",
        "folds_hash": file_hash(cfg.folds_path),
        "config_hash": fingerprint(training_config(cfg)),
        "columns": [f"p_{i}" for i in range(10)],
    }
    saved = yaml.safe_load((exp.run_dir / "config.yaml").read_text())
    assert saved == cfg.resolved()  # the resolved config, every default spelled out

    # a re-run trains nothing and returns in seconds
    stamps = {p: p.stat().st_mtime_ns for p in exp.run_dir.glob("fold*/seed*/*.pt")}
    started = time.perf_counter()
    with caplog.at_level(logging.INFO, logger="podium"):
        assert train_stage.run(Experiment(cfg)) == {}
    assert time.perf_counter() - started < 5
    assert caplog.text.count("done, skipped") == 2
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps


def test_changed_folds_are_refused(trained_copy):
    cfg = trained_copy.cfg
    folds_stage.run(
        cfg.model_copy(update={"folds": cfg.folds.model_copy(update={"seed": 7})}), force=True
    )
    with pytest.raises(ArtifactError, match="folds changed"):
        train_stage.run(Experiment(cfg))


def test_a_changed_training_config_is_refused_until_forced(trained_copy, tiny_config):
    runs = trained_copy.cfg.paths.runs
    changed = Experiment(tiny_config(f"paths.runs={runs}", "train.lr=0.01"))
    with pytest.raises(ArtifactError, match="another config"):
        train_stage.run(changed)
    # what does not change the weights is not a different config
    same = Experiment(tiny_config(f"paths.runs={runs}", "infer.tta=[identity,hflip]"))
    assert train_stage.run(same) == {}
    assert set(train_stage.run(changed, force=True)) == {(0, 0), (1, 0)}
    recorded = read_json(changed.run_dir / "run.json")["config_hash"]
    assert recorded == fingerprint(training_config(changed.cfg))


def test_one_unit_and_several_seeds(tiny_config):
    cfg = tiny_config("train.seeds=[0,1]")
    folds_stage.run(cfg)
    exp = Experiment(cfg)
    assert exp.units() == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert set(train_stage.run(exp, fold=1, seed=1)) == {(1, 1)}
    assert set(train_stage.run(exp, fold=1)) == {(1, 0)}  # (1, 1) is done
    a = load_checkpoint(exp.unit_dir(1, 0) / "best.pt")["model"]
    b = load_checkpoint(exp.unit_dir(1, 1) / "best.pt")["model"]
    assert any(not torch.equal(a[k], b[k]) for k in a)  # seeds give different models


def test_extra_rows_go_to_training_only(trained_copy, monkeypatch):
    seen = {}

    def record(cfg, task, train, valid, unit_dir, seed, on_epoch_end=None, stamp=None):
        seen[unit_dir.parent.name] = (train, valid)
        return {"metric": "accuracy", "best_score": 0.0, "best_epoch": 1}

    monkeypatch.setattr(units_train, "fit", record)
    exp = trained_copy
    extra = TrainRows(
        np.zeros((3, 32, 32, 3), np.uint8),
        np.full((3, 10), 0.1, np.float32),
        np.full(3, 0.5, np.float32),
    )
    train_units(exp, force=True, fold=0, seed=0, extra_rows=lambda fold: extra)
    train, valid = seen["fold0"]
    in_fold = exp.fold_of_row == 0
    assert len(valid.y) == in_fold.sum()
    np.testing.assert_array_equal(valid.y, exp.comp.targets[in_fold])
    assert len(train.images) == (~in_fold).sum() + 3
    assert train.weights.tolist()[-4:] == [1.0, 0.5, 0.5, 0.5]
