"""One freshness rule, tried as a careless user would: every artifact records what it was made
from, so fixed labels, an overwritten image or other folds are never reported as up to date;
a typo writes nothing; `--force` removes only what its stage writes; and two processes never
train the same unit."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from factories import write_competition
from podium import pipeline
from podium.artifacts import read_json
from podium.cli import main
from podium.config import from_dict
from podium.engine.trainer import Interrupted
from podium.errors import ArtifactError, DataError
from podium.experiment import Experiment
from podium.locks import exclusive
from podium.units.train import train_units, unit_lock

LABELS = ["a", "b", "c"] * 6


def toy(tmp_path: Path, *overrides: str, method: str = "kfold"):
    """18 tiny images in 3 classes, 2 folds, a 1-epoch tiny model: seconds per stage."""
    write_competition(tmp_path, LABELS, n_test=4)
    d = {
        "name": "toy",
        "competition": {"name": "toy", "solution": None},
        "data": {"image_size": 32, "num_workers": 0, "cache": "memory"},
        "folds": {"n_splits": 2, "method": method},
        "model": {"name": "test_convnext"},
        "train": {"epochs": 1, "progress": False, "batch_size": 4, "checkpoint": "last"},
        "paths": {
            "data": str(tmp_path),
            "runs": str(tmp_path / "runs"),
            "submissions": str(tmp_path / "submissions"),
        },
    }
    for o in overrides:
        key, value = o.split("=")
        section, leaf = key.split(".")
        d.setdefault(section, {})[leaf] = value
    cfg = from_dict(d, source=str(tmp_path / "toy.yaml"))
    import yaml

    (tmp_path / "toy.yaml").write_text(yaml.safe_dump({k: v for k, v in d.items()}))
    return cfg


def run(stage: str, tmp_path: Path, *overrides: str, force: bool = False) -> object:
    request = pipeline.Request(config=tmp_path / "toy.yaml", overrides=list(overrides), force=force)
    return pipeline.run(stage, request)


def relabel(tmp_path: Path, rows: dict[int, str]) -> None:
    path = tmp_path / "toy" / "train.csv"
    table = pd.read_csv(path, dtype=str)
    for i, label in rows.items():
        table.loc[i, "label"] = label
    table.to_csv(path, index=False)


def test_fixed_labels_make_units_and_oof_stale_until_retrained(tmp_path):
    cfg = toy(tmp_path)
    run("oof", tmp_path)
    relabel(tmp_path, {0: "b", 1: "a"})  # two wrong labels fixed
    with pytest.raises(ArtifactError, match="labels changed"):
        run("oof", tmp_path)
    run("train", tmp_path, force=True)
    run("oof", tmp_path)
    oof = pd.read_parquet(cfg.run_dir / "oof.parquet")
    assert oof["target"].tolist()[:2] == ["b", "a"]


def test_fixed_labels_refuse_stratified_folds_naming_what_changed(tmp_path):
    toy(tmp_path, method="stratified")
    run("folds", tmp_path)
    relabel(tmp_path, {0: "b", 1: "a"})
    with pytest.raises(DataError, match="labels"):
        run("folds", tmp_path)
    run("folds", tmp_path, force=True)


def test_an_overwritten_test_image_is_predicted_again(tmp_path):
    cfg = toy(tmp_path)
    run("infer", tmp_path)
    before = read_json(cfg.run_dir / "infer.json")["fingerprint"]
    run("infer", tmp_path)  # fresh: nothing redone
    assert read_json(cfg.run_dir / "infer.json")["fingerprint"] == before
    image = tmp_path / "toy" / "test" / "t001.png"
    cv2.imwrite(str(image), np.full((8, 8, 3), 200, np.uint8))
    os.utime(image, ns=(image.stat().st_atime_ns, image.stat().st_mtime_ns + 10**9))
    run("infer", tmp_path)
    assert read_json(cfg.run_dir / "infer.json")["fingerprint"] != before


def test_infer_for_other_folds_is_recomputed_and_submit_refuses_a_fold_mismatch(tmp_path):
    cfg = toy(tmp_path)
    run("oof", tmp_path)
    run("infer", tmp_path, "train.folds=[0]")
    assert read_json(cfg.run_dir / "infer.json")["folds"] == [0]
    with pytest.raises(ArtifactError, match=r"predicted by folds \[0\]"):
        run("submit", tmp_path, "train.folds=[0]")
    run("infer", tmp_path)  # all folds: not the fold-0 file reused
    assert read_json(cfg.run_dir / "infer.json")["folds"] == [0, 1]
    assert run("submit", tmp_path).exists()


def test_a_second_trainer_of_a_unit_is_refused_naming_the_holder(tmp_path):
    cfg = toy(tmp_path)
    run("folds", tmp_path)
    exp = Experiment(cfg)
    held = exclusive(unit_lock(exp, 0, 0), "a unit")
    with held, pytest.raises(ArtifactError, match=rf"being written by pid {os.getpid()}"):
        train_units(exp, fold=0, seed=0)
    assert set(train_units(exp, fold=0, seed=0)) == {(0, 0)}  # the lock died with its holder


def test_a_typo_writes_nothing_and_the_fixed_command_then_runs(tmp_path, capsys):
    toy(tmp_path)
    config = str(tmp_path / "toy.yaml")
    for typo in ("model.name=resnet1800", "train.optimizer=adamww", "model.kwargs={bogus: 1}"):
        assert main(["train", "-c", config, typo]) == 2
        assert not (tmp_path / "runs").exists(), typo
    assert "model.name" in capsys.readouterr().err
    assert main(["train", "-c", config]) == 0


def test_force_removes_only_what_the_stage_wrote(tmp_path):
    cfg = toy(tmp_path)
    run("train", tmp_path)
    mine = cfg.run_dir / "notes.md"
    mine.write_text("my notes")
    neighbour = cfg.comp_dir / "other" / "keep.txt"
    neighbour.parent.mkdir()
    neighbour.write_text("another experiment")
    run("train", tmp_path, force=True)
    assert mine.read_text() == "my notes" and neighbour.read_text() == "another experiment"
    assert (cfg.run_dir / "fold0" / "seed0" / "result.json").exists()


@pytest.mark.parametrize(
    ("flag", "message"), [(["--fold", "7"], "--fold 7: "), (["--seed", "5"], "--seed 5 is not")]
)
def test_a_unit_the_config_lacks_is_refused_before_anything_is_written(
    tmp_path, capsys, flag, message
):
    toy(tmp_path)
    assert main(["train", "-c", str(tmp_path / "toy.yaml"), *flag]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_a_killed_unit_does_not_resume_on_changed_labels(tmp_path):
    toy(tmp_path, "train.epochs=2")
    with pytest.raises(Interrupted):
        run("train", tmp_path, "train.epochs=2", "train.stop_after_epoch=1")
    relabel(tmp_path, {0: "b", 1: "a"})
    with pytest.raises(ArtifactError, match="started from other inputs \\(labels changed"):
        run("train", tmp_path, "train.epochs=2")
    run("train", tmp_path, "train.epochs=2", force=True)
