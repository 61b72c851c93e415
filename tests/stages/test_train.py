"""`podium train` end to end on the demo competition (folds -> 2 folds x 1 epoch of a tiny
model -> checkpoints and history), the skip of finished units, and the refusal to mix
artifacts made on other folds or under another training config."""

from __future__ import annotations

import logging
import time
from pathlib import Path

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


def test_a_moved_competition_folder_keeps_its_finished_units(trained_copy, tmp_path, caplog):
    """The images count by their path within the competition folder: the data moved or
    mounted elsewhere (a Kaggle notebook's /kaggle/input) is the same data, nothing retrains."""
    import shutil

    moved = tmp_path / "elsewhere" / "data"
    shutil.copytree(Path(trained_copy.cfg.paths.data), moved)
    cfg = trained_copy.cfg
    cfg = cfg.model_copy(update={"paths": cfg.paths.model_copy(update={"data": str(moved)})})
    with caplog.at_level(logging.INFO, logger="podium"):
        assert train_stage.run(Experiment(cfg)) == {}
    assert caplog.text.count("done, skipped") == 2


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


def _config_file(tmp_path, data_root, **train) -> str:
    path = tmp_path / "exp.yaml"
    d = {
        "extends": str(Path(__file__).resolve().parents[2] / "configs/digits/base.yaml"),
        "name": "exp",
        "model": {"name": "test_convnext"},
        "folds": {"n_splits": 2},
        "train": {"epochs": 1, "progress": False, **train},
        "infer": {"tta": ["identity"]},
        "paths": {"data": str(data_root), "runs": str(tmp_path / "runs")},
    }
    path.write_text(yaml.safe_dump(d))
    return str(path)


def test_force_checks_configs_and_images_before_removing_finished_units(
    small_demo, tmp_path, capsys
):
    """`train --force` with a stage of 0 pixels or an undecodable image refuses with one line
    and leaves the finished units as they were (#23 item 14)."""
    from podium.cli import main

    config = _config_file(tmp_path, small_demo)
    assert main(["train", "-c", config]) == 0
    units = sorted((tmp_path / "runs" / "digits" / "exp").glob("fold*/seed*/*"))
    before = {p: p.stat().st_mtime_ns for p in units}
    assert any(p.name == "result.json" for p in before)
    capsys.readouterr()

    staged = "train.stages=[{epochs: 1, image_size: 0}, {epochs: 1}]"
    assert main(["train", "-c", config, staged, "train.epochs=2", "--force"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "image_size must be at least 1 pixel" in err, err

    image = next((small_demo / "digits" / "train").glob("*.png"))
    image.write_bytes(b"not a png at all")
    assert main(["train", "-c", config, "--force"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and image.name in err, err

    assert {p: p.stat().st_mtime_ns for p in units} == before  # nothing removed or rewritten


def test_a_replaced_weights_file_makes_the_units_stale(small_demo, tmp_path, capsys):
    """`model.weights` pointing at a new file of the same name (same size and mtime, even) is
    noticed: the units trained from the old one are refused until --force (#23 item 18)."""
    import os

    import timm

    from podium.cli import main

    weights = tmp_path / "start.pth"

    def write_weights(seed: int) -> None:
        torch.manual_seed(seed)
        torch.save(timm.create_model("test_convnext", num_classes=10).state_dict(), weights)

    write_weights(0)
    config = _config_file(tmp_path, small_demo)
    args = ["-c", config, f"model.weights={weights}", "--fold", "0", "--seed", "0"]
    assert main(["train", *args]) == 0
    assert main(["train", *args]) == 0  # unchanged: skipped
    st = weights.stat()
    write_weights(1)  # other weights under the same name, size and modification time
    os.utime(weights, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert weights.stat().st_size == st.st_size
    capsys.readouterr()
    assert main(["train", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "weights changed" in err and "--force" in err, err
    assert main(["train", *args, "--force"]) == 0
