"""Image path templates (`competition.train_images`, `test_images`, `data.external` images):
`{id}` is the row's id, `{channel}` a named channel's file, and any other placeholder a column
of the table (`train/{patient_id}/{image_id}.dcm`, RSNA's layout); an unknown placeholder is a
one-line error at config time, before any stage runs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

from factories import write_competition, write_toy_config
from podium.cli import main

LABELS = ["a", "b"] * 4


def nest_by_patient(comp: Path) -> None:
    """Move train/<id>.png to train/<patient>/<id>.png and give train.csv a patient column
    (test.csv too: test/<patient>/<id>.png)."""
    for split, table in (("train", "train.csv"), ("test", "sample_submission.csv")):
        df = pd.read_csv(comp / table, dtype=str)
        df["patient_id"] = [f"p{i % 3}" for i in range(len(df))]
        for image_id, patient in zip(df["id"], df["patient_id"], strict=True):
            (comp / split / patient).mkdir(exist_ok=True)
            shutil.move(
                comp / split / f"{image_id}.png", comp / split / patient / f"{image_id}.png"
            )
        name = "train.csv" if split == "train" else "test.csv"
        df[["id", "patient_id"] + (["label"] if split == "train" else [])].to_csv(
            comp / name, index=False
        )


def test_a_template_takes_any_column_of_its_table(tmp_path, capsys):
    nest_by_patient(write_competition(tmp_path, LABELS))
    config = write_toy_config(
        tmp_path,
        competition={
            "test_csv": "test.csv",
            "train_images": "train/{patient_id}/{id}.png",
            "test_images": "test/{patient_id}/{id}.png",
        },
    )
    assert main(["infer", "-c", str(config)]) == 0, capsys.readouterr().err
    assert (tmp_path / "runs" / "toy" / "toy" / "test.parquet").is_file()


def test_an_unknown_placeholder_is_one_line_at_config_time(tmp_path, capsys):
    nest_by_patient(write_competition(tmp_path, LABELS))
    config = write_toy_config(tmp_path, competition={"train_images": "train/{patient}/{id}.png"})
    assert main(["folds", "-c", str(config)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert "unknown placeholder {patient}" in err and "competition.train_images" in err
    assert "['id', 'patient_id', 'label']" in err  # the columns it may use
    assert not (tmp_path / "runs" / "toy" / "folds.csv").exists()


def test_a_test_template_needs_a_test_table_with_its_columns(tmp_path, capsys):
    nest_by_patient(write_competition(tmp_path, LABELS))
    config = write_toy_config(
        tmp_path,
        competition={
            "train_images": "train/{patient_id}/{id}.png",
            "test_images": "test/{patient_id}/{id}.png",  # no test_csv: sample_submission's ids
        },
    )
    assert main(["folds", "-c", str(config)]) == 2
    err = capsys.readouterr().err
    assert "competition.test_images" in err and "unknown placeholder {patient_id}" in err
    assert "set competition.test_csv" in err


def test_a_malformed_template_is_one_line(tmp_path, capsys):
    write_competition(tmp_path, LABELS)
    config = write_toy_config(tmp_path, competition={"train_images": "train/{id.png"})
    assert main(["folds", "-c", str(config)]) == 2
    err = capsys.readouterr().err
    assert "not a valid path template" in err and "Traceback" not in err
