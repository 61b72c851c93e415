"""A pseudo selection that keeps no row: a one-line error naming the key before a student
trains on nothing (what `podium train` / `podium pseudo` print), and a fold without rows
listed with zeros in pseudo.json and the report instead of left out."""

from __future__ import annotations

from test_pseudo import fake_experiment, recording_fit, student, write_config

from podium import cli, pipeline
from podium.artifacts import read_json
from podium.pseudo.report import render
from podium.stages import pseudo

__all__ = ["recording_fit"]  # the fixture, used by name


def test_a_threshold_above_every_confidence_is_a_one_line_error(
    tiny_config, tmp_path, recording_fit, monkeypatch, capsys
):
    teacher = fake_experiment(tiny_config, tmp_path, "teacher", {0: ("3", 0.9), 1: ("7", 0.8)})
    exp = student(tiny_config, teacher, "threshold=0.99")
    config = write_config(tmp_path / "student.yaml", exp.cfg)
    for stage in ("train", "oof", "infer"):  # the fake teacher's predictions are there
        monkeypatch.setattr(getattr(pipeline, f"{stage}_stage"), "run", lambda *a, **k: None)

    assert cli.main(["train", "-c", str(config)]) == 2

    err = capsys.readouterr().err.strip()
    assert err.startswith("podium train: error: ") and "\n" not in err
    assert "no pseudo-labels" in err and "pseudo.threshold 0.99" in err
    assert "highest confidence is 0.9000" in err and "lower pseudo.threshold" in err
    assert recording_fit.units == {}  # no student unit trained on nothing


def test_a_fold_without_rows_is_listed_with_zeros(tiny_config, tmp_path, recording_fit):
    teacher = fake_experiment(tiny_config, tmp_path, "teacher", {0: ("3", 0.95), 1: ("7", 0.6)})
    exp = student(tiny_config, teacher, "threshold=0.9", "max_per_class=25")
    pseudo.train_student(exp)
    rows = read_json(exp.run_dir / "pseudo.json")["rows"]
    assert set(rows) == {"0", "1"} and sum(rows["1"].values()) == 0
    assert sum(rows["0"].values()) == 25
    current = {
        "student": "student",
        "round": 1,
        "teacher": {"kind": "experiment", "name": "teacher", "run_dir": "x", "mode": "m"},
        "leaks": False,
        "rows": rows,
        "pseudo_accuracy": None,
        "cv": {"metric": "accuracy", "teacher": 0.5, "student": 0.5},
        "leaderboard": {"teacher": None, "student": None},
        "selection": {"threshold": 0.9},
    }
    current["cv"] |= {"teacher_folds": None, "student_folds": None}
    md = render([current], current, exp.task.pseudo.label_names)
    assert "| 0-25 |" in md and "| 1 | " + " | ".join(["0"] * 10) + " | 0 | - |" in md
    # an earlier round recorded before folds were listed (no fold at all): 0, not a crash
    assert "| m | 0-0 |" in render([{**current, "rows": {}}, current], current, ["3"])
