"""Pseudo-labels with series (#28 "pseudo per study"), through the CLI on the tiny series demo:
the attention network teaches a student of the same recipe; each test study is one pseudo
row (its label the teacher's fold-k prediction for the study), the student's OOF and CV are
the labelled studies alone, and its submission has one row per test study."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml
from tiny_series import TINY_SERIES

from podium.artifacts import read_json
from podium.cli import main
from podium.config import load_config
from podium.series.demo import write_series_demo

ROOT = Path(__file__).resolve().parents[2]
ATTENTION = ROOT / "configs/digits_series/attention.yaml"
TINY = TINY_SERIES


@pytest.fixture
def student(tmp_path: Path) -> Path:
    """teacher.yaml (the demo's attention network at tiny scale, resolved) and the student
    beside it, the same recipe with a `pseudo:` section naming the teacher."""
    write_series_demo(tmp_path / "data/digits_series", n_train=16, n_test=8)
    paths = [
        f"paths.data={tmp_path / 'data'}",
        f"paths.runs={tmp_path / 'runs'}",
        f"paths.submissions={tmp_path / 'subs'}",
    ]
    teacher = load_config(ATTENTION, [*paths, *TINY]).resolved()
    teacher["name"] = "teacher"
    (tmp_path / "teacher.yaml").write_text(yaml.safe_dump(teacher, sort_keys=False))
    pseudo = {"teacher": "teacher.yaml", "threshold": None, "top_fraction": 0.5}
    student = {**teacher, "name": "attention-pseudo", "pseudo": pseudo}
    path = tmp_path / "student.yaml"
    path.write_text(yaml.safe_dump(student, sort_keys=False))
    return path


def test_a_series_student_learns_from_the_teachers_fold_k_studies(student, capsys):
    assert main(["pseudo", "-c", str(student)]) == 0
    assert main(["submit", "-c", str(student)]) == 0
    cfg = load_config(student)
    train = pd.read_csv(Path(cfg.paths.data) / "digits_series/train.csv")
    oof = pd.read_parquet(cfg.run_dir / "oof.parquet")
    assert sorted(oof["id"]) == sorted(train["id"])  # the labelled studies alone
    test = pd.read_parquet(cfg.run_dir / "test.parquet")
    assert len(test) == 8
    report = (cfg.run_dir / "pseudo_report.md").read_text()
    assert "teacher" in report.lower()
    scores = read_json(cfg.run_dir / "scores.json")
    assert 0.0 <= scores["cv"] <= 1.0
    out = capsys.readouterr().out
    assert "attention-pseudo" in out
