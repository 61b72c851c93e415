"""A teacher's fold-k `best.pt` is the epoch chosen on fold k's labels, so pseudo-labels or
soft targets from it leak those labels into fold k's student. Teachers therefore predict with
a fixed-schedule checkpoint (`last`, `swa`, `snapshots`) unless the student says
`teacher_checkpoint: best`, which accepts the leak: a warning on stderr, `pseudo.json`
records `leak_free: false`, and a later round must accept it again (tests/stages/test_pseudo.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from podium.artifacts import read_json
from podium.cli import main
from podium.config import ConfigError, from_dict, load_config
from podium.pseudo.teacher import open_teacher
from podium.units import predict as units_predict
from podium.units import train as units_train
from podium.units.teacher_weights import teacher_weights


class _RecordingFit:
    """Stands in for the engine's fit: marks each unit done without training it."""

    def __call__(self, cfg, task, train, valid, unit_dir, seed, on_epoch_end=None, stamp=None):
        result = {"metric": "accuracy", "best_score": 0.0, "best_epoch": 1}
        stamp.write(**result)
        return result


def _write(path: Path, d: dict) -> Path:
    path.write_text(yaml.safe_dump(d, sort_keys=False))
    return path


@pytest.fixture
def best_teacher(trained_copy, tmp_path) -> dict:
    """The trained tiny experiment as a teacher whose oof / infer predict with best.pt,
    its predictions made; returns its resolved config (teacher.yaml beside the students)."""
    d = trained_copy.cfg.resolved()
    d["train"]["checkpoint"] = "best"
    d["infer"]["tta"] = ["identity"]
    path = _write(tmp_path / "teacher.yaml", d)
    assert main(["oof", "-c", str(path)]) == 0
    assert main(["infer", "-c", str(path)]) == 0
    return d


def _student(tmp_path: Path, teacher: dict, name: str, **pseudo) -> Path:
    d = {**teacher, "name": name, "train": {**teacher["train"], "checkpoint": "last"}}
    d["pseudo"] = {"teacher": "teacher.yaml", "threshold": None, **pseudo}
    return _write(tmp_path / f"{name}.yaml", d)


@pytest.fixture
def loads(monkeypatch) -> list[str]:
    """The checkpoints units are loaded from from now on (student training is a stand-in)."""
    seen: list[str] = []
    real = units_predict.inference_state

    def spy(unit_dir, which="best"):
        seen.append(which)
        return real(unit_dir, which)

    monkeypatch.setattr(units_predict, "inference_state", spy)
    monkeypatch.setattr(units_train, "fit", _RecordingFit())
    return seen


def test_a_best_checkpoint_teacher_labels_with_its_last_weights_by_default(
    best_teacher, tmp_path, loads, capfd
):
    student = _student(tmp_path, best_teacher, "student")
    assert main(["train", "-c", str(student)]) == 0
    # every fold-k unit of the teacher predicted the pool here, with last.pt, not the
    # teacher's test_by_fold.parquet (made with best.pt)
    assert loads == ["last", "last"]
    run = Path(best_teacher["paths"]["runs"]) / "digits" / "student"
    assert read_json(run / "pseudo.json")["leak_free"] is True
    assert "warning" not in capfd.readouterr().err
    # the report compares the student with the teacher as it taught: its last.pt's CV
    teacher = open_teacher(load_config(student), tmp_path / "teacher.yaml")
    own = read_json(Path(best_teacher["paths"]["runs"]) / "digits" / "tiny" / "scores.json")
    assert teacher.scores(all_folds=False)["cv"] == own["last_checkpoint"]["accuracy"]


def test_teacher_checkpoint_best_accepts_the_leak_warns_and_marks_the_student(
    best_teacher, tmp_path, loads, capfd
):
    capfd.readouterr()
    student = _student(tmp_path, best_teacher, "student", teacher_checkpoint="best")
    assert main(["train", "-c", str(student)]) == 0
    assert loads == []  # the teacher's own per-fold predictions (best.pt) are the labels
    run = Path(best_teacher["paths"]["runs"]) / "digits" / "student"
    assert read_json(run / "pseudo.json")["leak_free"] is False
    err = capfd.readouterr().err
    warned = [line for line in err.splitlines() if line.startswith("warning:")]
    assert len(warned) == 1, err
    assert "fold k's labels chose" in warned[0] and "leak_free: false" in warned[0]
    assert warned[0].endswith("(PseudoLeakWarning)")


def test_the_all_folds_leak_warning_reaches_stderr_once(best_teacher, tmp_path, loads, capfd):
    capfd.readouterr()
    student = _student(tmp_path, best_teacher, "student", all_folds=True)
    assert main(["train", "-c", str(student)]) == 0
    assert main(["train", "-c", str(student)]) == 0  # a second run in the process: said again
    err = capfd.readouterr().err
    warned = [line for line in err.splitlines() if line.startswith("warning:")]
    assert len(warned) == 2 and warned[0] == warned[1], err
    assert "pseudo.all_folds" in warned[0] and warned[0].endswith("(PseudoLeakWarning)")
    assert "teacher.py" not in err and "warnings.warn" not in err  # no source-line noise


def _cfg(**train):
    return from_dict({"name": "teacher", "competition": {"name": "c"}, "train": train})


@pytest.mark.parametrize(
    "train, expected",
    [
        ({"checkpoint": "best"}, "last"),
        ({"checkpoint": "last"}, "last"),
        ({"checkpoint": "best", "swa": {"start_epoch": 5, "lr": 1e-4}}, "swa"),
        ({"checkpoint": "snapshots", "cycles": 2, "snapshots": True}, "snapshots"),
    ],
)
def test_teachers_use_a_fixed_schedule_checkpoint_unless_told(train, expected):
    weights = teacher_weights(_cfg(**train), None, "pseudo.teacher_checkpoint", "student")
    assert weights.checkpoint == expected and weights.leak_free
    accepted = teacher_weights(_cfg(**train), "best", "pseudo.teacher_checkpoint", "student")
    assert accepted.checkpoint == "best" and not accepted.leak_free


def test_an_early_stopped_teacher_leaks_whatever_its_checkpoint_unless_accepted():
    cfg = _cfg(checkpoint="last", early_stopping_patience=2)
    with pytest.raises(
        ConfigError, match="stops early on fold k's labels.*teacher_checkpoint: best"
    ):
        teacher_weights(cfg, None, "pseudo.teacher_checkpoint", "student")
    with pytest.raises(ConfigError, match="trains no SWA"):
        teacher_weights(_cfg(checkpoint="best"), "swa", "pseudo.teacher_checkpoint", "student")
    assert not teacher_weights(cfg, "best", "pseudo.teacher_checkpoint", "student").leak_free
