"""`podium <stage>` as a user runs it: `podium.cli.main([...])` returns 0 on success, and a
user error (config, data, artifacts) returns 2 with one clear line on stderr."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from podium.cli import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def config_file(tmp_path, demo_data_root) -> Path:
    """A tiny experiment file that extends the demo's base, with its folders under tmp_path."""
    path = tmp_path / "tiny.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "extends": str(ROOT / "configs" / "digits" / "base.yaml"),
                "model": {"name": "test_convnext"},
                "folds": {"n_splits": 2},
                "train": {"epochs": 1, "progress": False},
                "paths": {
                    "data": str(demo_data_root),
                    "runs": str(tmp_path / "runs"),
                    "submissions": str(tmp_path / "submissions"),
                },
            }
        )
    )
    return path


def one_error_line(capsys, stage: str) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith(f"podium {stage}: error: ")
    return err


def test_demo_data_folds_and_one_training_unit(tmp_path, config_file, capsys):
    assert main(["demo-data", "--data", str(tmp_path / "data")]) == 0
    assert (tmp_path / "data" / "digits" / "train.csv").is_file()
    assert main(["folds", "-c", str(config_file)]) == 0
    assert main(["train", "-c", str(config_file), "--fold", "1", "--seed", "0"]) == 0
    run = tmp_path / "runs" / "digits" / "tiny"
    assert (run / "fold1" / "seed0" / "best.pt").is_file()
    assert not (run / "fold0").exists()  # only the unit asked for
    capsys.readouterr()


def test_unknown_key_exits_2_with_the_closest_key(config_file, capsys):
    assert main(["train", "-c", str(config_file), "train.epoch=3"]) == 2
    line = one_error_line(capsys, "train")
    assert "unknown key 'train.epoch'" in line and "did you mean 'train.epochs'" in line
    assert str(config_file) in line


def test_missing_config_file(tmp_path, capsys):
    assert main(["folds", "-c", str(tmp_path / "nope.yaml")]) == 2
    assert "config file not found" in one_error_line(capsys, "folds")


def test_train_makes_the_folds_it_needs(config_file, tmp_path):
    """The pipeline runs what a stage needs first: `podium train` on a fresh competition
    writes folds.csv, then trains."""
    assert main(["train", "-c", str(config_file)]) == 0
    assert list((tmp_path / "runs" / "digits").glob("folds.csv"))


def test_an_unknown_metric_names_the_key_before_anything_is_written(config_file, tmp_path, capsys):
    assert main(["train", "-c", str(config_file), "competition.metric=acuracy"]) == 2
    line = one_error_line(capsys, "train")
    assert "competition.metric" in line and "did you mean 'accuracy'" in line
    assert not (tmp_path / "runs").exists()


def test_bad_data_exits_2_naming_the_file(config_file, tmp_path, capsys):
    assert main(["folds", "-c", str(config_file), "competition.target_column=digit"]) == 2
    line = one_error_line(capsys, "folds")
    assert "train.csv" in line and "'digit'" in line


def test_bad_override_syntax(config_file, capsys):
    assert main(["folds", "-c", str(config_file), "folds.n_splits"]) == 2
    assert "key=value" in one_error_line(capsys, "folds")


def test_argparse_errors_are_usage_errors(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["train"])  # no -c
    assert exit_.value.code == 2


@pytest.mark.parametrize(
    "override, message",
    [
        ("model.name=resnet_18", "unknown timm model 'resnet_18'"),
        ("train.optimizer=adamm", "train.optimizer='adamm'"),
        ("data.train_augs=[{name: Blurr}]", "unknown albumentations transform 'Blurr'"),
    ],
)
def test_bad_training_settings_exit_2(config_file, capsys, override, message):
    assert main(["folds", "-c", str(config_file)]) == 0
    capsys.readouterr()
    assert main(["train", "-c", str(config_file), override]) == 2
    assert message in one_error_line(capsys, "train")
