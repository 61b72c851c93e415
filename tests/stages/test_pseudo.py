"""`podium pseudo` / `podium train` of a student: fold k trains on fold-k teacher labels only,
pseudo rows never reach a validation set, the all-folds mode warns, an ensemble teaches
leak-free through its members' mean, stale pseudo-labels are refused, and a full round
(with extra images) followed by a Noisy Student round runs end to end.

Most tests use fake teacher files (written through `podium.predictions`, as the stages write
them) and a recording stand-in for the engine's `fit`, so they check exactly the rows each
student unit receives without training anything."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from podium import pipeline
from podium.artifacts import ArtifactError, read_json, write_json
from podium.config import Config, ConfigError
from podium.experiment import Experiment
from podium.predictions import (
    OOF,
    TEST,
    TEST_BY_FOLD,
    write_oof,
    write_test,
    write_test_by_fold,
)
from podium.pseudo.teacher import PseudoLeakWarning, open_teacher
from podium.stages import folds as folds_stage
from podium.stages import pseudo
from podium.tasks import Task
from podium.units import train as units_train


def write_config(path: Path, cfg: Config, **sections) -> Path:
    d = cfg.resolved()
    d.update(sections)
    path.write_text(yaml.safe_dump(d, sort_keys=False))
    return path


def predictions(task: Task, rows: int, label: str, conf: float) -> np.ndarray:
    """Every row predicts `label` with probability `conf`, the rest spread evenly."""
    classes = task.classes
    p = np.full((rows, len(classes)), (1 - conf) / (len(classes) - 1))
    p[:, classes.index(label)] = conf
    return p


def fake_experiment(
    tiny_config,
    tmp_path: Path,
    name: str,
    by_fold: dict[int, tuple[str, float]],
    overall: str = "0",
) -> Path:
    """A 'trained' teacher (no weights): what a teacher is read from, run.json (its folds),
    scores.json and its prediction files; its config file is returned. Fold k's models
    predict `by_fold[k]` on every test row, all folds together `overall`."""
    cfg = tiny_config(f"name={name}")
    folds_stage.run(cfg)
    exp = Experiment(cfg)
    comp, task, out = exp.comp, exp.task, exp.run_dir
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "run.json", {"kind": cfg.kind.name, "folds_hash": exp.folds_hash})
    n_test = len(comp.test_ids)
    per_fold = {k: predictions(task, n_test, lab, c) for k, (lab, c) in by_fold.items()}
    write_test_by_fold(out / TEST_BY_FOLD, task, comp.test_ids, per_fold)
    write_test(out / TEST, task, comp.test_ids, predictions(task, n_test, overall, 0.99))
    oof = predictions(task, len(comp.train_ids), "0", 0.5)
    target = task.target_frame(comp.train)
    write_oof(out / OOF, task, comp.train_ids, exp.fold_of_row, target, oof)
    folds = {str(k): {"accuracy": 0.5, "log_loss": 1.0} for k in by_fold}
    write_json(
        out / "scores.json",
        {"metric": "accuracy", "cv": 0.5, "log_loss": 1.0, "final": {"folds": folds}},
    )
    return write_config(tmp_path / f"{name}.yaml", cfg)


class RecordingFit:
    """Stands in for the engine's fit: records each unit's rows and marks the unit done (its
    stamp, as the engine writes it)."""

    def __init__(self) -> None:
        self.units: dict[int, tuple] = {}

    def __call__(self, cfg, task, train, valid, unit_dir, seed, on_epoch_end=None, stamp=None):
        self.units[int(unit_dir.parent.name.removeprefix("fold"))] = (train, valid)
        result = {"metric": "accuracy", "best_score": 0.0, "best_epoch": 1}
        stamp.write(**result)
        return result


@pytest.fixture
def recording_fit(monkeypatch) -> RecordingFit:
    spy = RecordingFit()
    monkeypatch.setattr(units_train, "fit", spy)
    return spy


def student(tiny_config, teacher: Path, *pseudo_keys: str, name: str = "student") -> Experiment:
    keys = [
        f"pseudo.teacher={teacher}",
        "pseudo.threshold=null",
        *(f"pseudo.{k}" for k in pseudo_keys),
    ]
    return Experiment(tiny_config(f"name={name}", *keys))


def one_hot_of(exp: Experiment, label: str) -> np.ndarray:
    return np.eye(exp.task.num_outputs, dtype=np.float32)[exp.task.classes.index(label)]


def test_fold_k_trains_on_fold_k_teacher_labels_and_never_validates_on_them(
    tiny_config, tmp_path, recording_fit
):
    teacher = fake_experiment(tiny_config, tmp_path, "teacher", {0: ("3", 0.9), 1: ("7", 0.9)})
    exp = student(tiny_config, teacher, "weight=0.5")
    pseudo.train_student(exp)
    n_test = len(exp.comp.test_ids)
    for fold, label in ((0, "3"), (1, "7")):
        train, valid = recording_fit.units[fold]
        is_valid = exp.fold_of_row == fold
        # validation: exactly fold k's labelled rows, nothing else
        np.testing.assert_array_equal(valid.images, exp.train_images[is_valid])
        np.testing.assert_array_equal(valid.y, exp.comp.targets[is_valid])
        # training: the other folds' rows, then every test image labelled by fold k's models
        n_labelled = int((~is_valid).sum())
        assert len(train.images) == n_labelled + n_test
        np.testing.assert_array_equal(train.images[n_labelled:], exp.test_images)
        assert (train.targets[n_labelled:] == one_hot_of(exp, label)).all()
        np.testing.assert_array_equal(train.weights, [1.0] * n_labelled + [0.5] * n_test)
    frame = pd.read_parquet(exp.run_dir / "pseudo.parquet")
    assert frame.groupby("fold")["label"].unique().map(list).to_dict() == {0: ["3"], 1: ["7"]}
    assert set(frame["source"]) == {"test"}
    assert read_json(exp.run_dir / "pseudo.json")["leak_free"] is True


def test_threshold_and_cap_shape_the_rows_each_fold_trains_on(tiny_config, tmp_path, recording_fit):
    # fold 0's teacher is confident (0.95), fold 1's is not (0.6): a 0.9 threshold keeps
    # fold 0's rows, capped at 25, and none of fold 1's
    teacher = fake_experiment(tiny_config, tmp_path, "teacher", {0: ("3", 0.95), 1: ("7", 0.6)})
    exp = student(tiny_config, teacher, "threshold=0.9", "max_per_class=25", "soft=true")
    pseudo.train_student(exp)
    n_labelled = [int((exp.fold_of_row != k).sum()) for k in (0, 1)]
    train0, _ = recording_fit.units[0]
    assert len(train0.images) == n_labelled[0] + 25
    # soft targets: the teacher's own distribution
    assert train0.targets[n_labelled[0] :, exp.task.classes.index("3")] == pytest.approx(0.95)
    train1, _ = recording_fit.units[1]
    assert len(train1.images) == n_labelled[1]


def test_all_folds_teacher_warns_that_it_leaks(tiny_config, tmp_path, recording_fit):
    teacher = fake_experiment(
        tiny_config, tmp_path, "teacher", {0: ("3", 0.9), 1: ("7", 0.9)}, overall="5"
    )
    exp = student(tiny_config, teacher, "all_folds=true")
    with pytest.warns(PseudoLeakWarning, match="optimistic"):
        pseudo.train_student(exp)
    for fold in (0, 1):
        train, valid = recording_fit.units[fold]
        assert (train.targets[-len(exp.comp.test_ids) :] == one_hot_of(exp, "5")).all()
        assert len(valid.images) == int((exp.fold_of_row == fold).sum())
    assert set(pd.read_parquet(exp.run_dir / "pseudo.parquet")["fold"]) == {-1}
    assert read_json(exp.run_dir / "pseudo.json")["leak_free"] is False
    # a leaky student cannot hand leak-free labels to the next round
    leaky = write_config(tmp_path / "student.yaml", exp.cfg)
    with pytest.raises(ConfigError, match="all-folds pseudo-labels"):
        pseudo.train_student(student(tiny_config, leaky, name="round2"))


def test_ensemble_teacher_is_leak_free_only_through_its_members_mean(
    tiny_config, tmp_path, recording_fit
):
    fake_experiment(tiny_config, tmp_path, "m1", {0: ("3", 0.9), 1: ("7", 0.9)})
    fake_experiment(tiny_config, tmp_path, "m2", {0: ("3", 0.5), 1: ("7", 0.7)})
    cfg = tiny_config("name=stack", "ensemble.members=[m1.yaml, m2.yaml]")
    out = cfg.run_dir
    out.mkdir(parents=True)
    exp0 = Experiment(cfg)
    write_json(out / "run.json", {"kind": cfg.kind.name, "folds_hash": exp0.folds_hash})
    test_ids = exp0.comp.test_ids
    write_test(out / TEST, exp0.task, test_ids, predictions(exp0.task, len(test_ids), "9", 0.99))
    cands = {
        "mean": {"accuracy": 0.6, "log_loss": 0.9},
        "stack": {"accuracy": 0.7, "log_loss": 0.8},
    }
    write_json(
        out / "scores.json", {"metric": "accuracy", "cv": 0.7, "log_loss": 0.8, "candidates": cands}
    )
    ensemble = write_config(tmp_path / "stack.yaml", cfg)

    exp = student(tiny_config, ensemble)
    pseudo.train_student(exp)
    frame = pd.read_parquet(exp.run_dir / "pseudo.parquet")
    by_fold = frame.groupby("fold")
    assert by_fold["label"].unique().map(list).to_dict() == {0: ["3"], 1: ["7"]}
    assert by_fold["confidence"].mean().to_dict() == pytest.approx({0: 0.7, 1: 0.8})
    teacher = open_teacher(exp.cfg, ensemble)
    assert teacher.scores(all_folds=False)["cv"] == 0.6  # the mean's CV, not the stack's

    leaky = student(tiny_config, ensemble, "all_folds=true", name="leaky")
    with pytest.warns(PseudoLeakWarning):
        pseudo.train_student(leaky)
    assert set(pd.read_parquet(leaky.run_dir / "pseudo.parquet")["label"]) == {"9"}


def test_pseudo_labels_made_from_a_changed_teacher_are_refused_until_forced(
    tiny_config, tmp_path, recording_fit
):
    teacher = fake_experiment(tiny_config, tmp_path, "teacher", {0: ("3", 0.9), 1: ("7", 0.9)})
    exp = student(tiny_config, teacher)
    pseudo.train_student(exp)
    recording_fit.units.clear()
    pseudo.train_student(exp)  # unchanged: nothing rebuilt, nothing retrained
    assert recording_fit.units == {}
    fake_experiment(tiny_config, tmp_path, "teacher", {0: ("1", 0.9), 1: ("2", 0.9)})
    with pytest.raises(ArtifactError, match="--force"):
        pseudo.train_student(exp)
    pseudo.train_student(exp, force=True)
    frame = pd.read_parquet(exp.run_dir / "pseudo.parquet")
    assert frame.groupby("fold")["label"].unique().map(list).to_dict() == {0: ["1"], 1: ["2"]}


def test_a_full_round_with_extra_images_then_a_noisy_student_round(
    trained_copy, tiny_config, tmp_path
):
    """Real training: the trained tiny experiment teaches (test images + an extra folder),
    the student becomes the teacher of a round-2 student with dropout."""
    runs = trained_copy.cfg.paths.runs
    write_config(tmp_path / "teacher.yaml", trained_copy.cfg)  # student.yaml names it
    extra = tmp_path / "unlabelled"
    (extra / "batch1").mkdir(parents=True)
    test_dir = trained_copy.cfg.data_dir / "test"
    for p in sorted(test_dir.glob("*.png"))[:6]:
        shutil.copy(p, extra / "batch1" / f"x_{p.name}")
    round1 = tiny_config(
        "name=student",
        f"paths.runs={runs}",
        "pseudo.teacher=teacher.yaml",
        "pseudo.threshold=null",
        f"pseudo.extra_images={extra}",
        "infer.tta=[identity]",
    )
    round1_file = write_config(tmp_path / "student.yaml", round1)
    trained_units = {p: p.stat().st_mtime_ns for p in trained_copy.run_dir.glob("fold*/seed*/*")}
    # `podium pseudo`: the teacher's oof / infer, pseudo-labels, the student's train, oof,
    # infer, then the report
    pipeline.run("pseudo", pipeline.Request(config=round1_file))
    # the teacher's units were up to date: predicted with, not retrained
    assert trained_units and {p: p.stat().st_mtime_ns for p in trained_units} == trained_units
    exp = Experiment(round1)
    frame = pd.read_parquet(exp.run_dir / "pseudo.parquet")
    assert frame.groupby("source").size().to_dict() == {"extra": 12, "test": 720}  # x 2 folds
    assert frame.loc[frame["source"] == "extra", "id"].iloc[0].startswith("batch1/x_")
    report = read_json(exp.run_dir / "pseudo_report.json")["rounds"]
    assert [r["round"] for r in report] == [1]
    r = report[0]
    assert 0 <= r["pseudo_accuracy"]["overall"] <= 1 and r["pseudo_accuracy"]["rows"] == 720
    assert r["cv"]["student"] == read_json(exp.run_dir / "scores.json")["cv"]
    assert set(r["cv"]["teacher_folds"]) == set(r["cv"]["student_folds"]) == {"0", "1"}
    assert r["leaderboard"]["student"] is not None
    assert (exp.run_dir / "test_by_fold.parquet").exists()  # it can teach

    round2 = tiny_config(
        "name=student2",
        f"paths.runs={runs}",
        "pseudo.teacher=student.yaml",
        "pseudo.threshold=null",
        "model.drop_rate=0.3",
        "infer.tta=[identity]",
    )
    pipeline.run(
        "pseudo", pipeline.Request(config=write_config(tmp_path / "student2.yaml", round2))
    )
    report = read_json(round2.run_dir / "pseudo_report.json")["rounds"]
    assert [(r["round"], r["teacher"]["name"], r["student"]) for r in report] == [
        (1, "tiny", "student"),
        (2, "student", "student2"),
    ]
    md = (round2.run_dir / "pseudo_report.md").read_text()
    assert "| 2 | student | student2 | leak-free per fold |" in md


def test_a_teacher_that_cannot_teach_is_refused_by_name(tiny_config, tmp_path, recording_fit):
    teacher = fake_experiment(tiny_config, tmp_path, "teacher", {0: ("3", 0.9), 1: ("7", 0.9)})
    with pytest.raises(ConfigError, match="share the run folder"):
        pseudo.train_student(student(tiny_config, teacher, name="teacher"))
    run_json = tmp_path / "runs" / "digits" / "teacher" / "run.json"
    write_json(run_json, {**read_json(run_json), "folds_hash": "0123456789abcdef"})
    with pytest.raises(ArtifactError, match="teacher 'teacher'.*folds hash 0123456789abcdef"):
        pseudo.train_student(student(tiny_config, teacher))
