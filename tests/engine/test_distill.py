"""Knowledge distillation (`train.distill`): the task's soft targets and loss, the mixed
loss, alpha 0 training bit for bit like plain training, a teacher that really shapes the
student, the fold-k teacher rule, and `podium train` on a student config training its
teacher first."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import yaml

from podium.cli import main
from podium.config import ConfigError, TrainConfig
from podium.engine.checkpoint import load_checkpoint
from podium.engine.distill import DistillLoss
from podium.experiment import Experiment
from podium.stages import folds as folds_stage
from podium.stages import train as train_stage
from podium.tasks.distillation import softened
from podium.units.distill import Distiller

ROOT = Path(__file__).resolve().parents[2]


def test_softened_probabilities_flatten_with_temperature():
    p = np.array([[0.7, 0.2, 0.1]])
    assert np.allclose(softened(p, 1.0), p)
    hot = softened(p, 4.0)
    assert np.isclose(hot.sum(), 1.0) and hot[0, 0] < 0.7 and hot[0, 2] > 0.1
    assert (np.argsort(hot) == np.argsort(p)).all()  # the ranking is kept


def test_multilabel_soft_targets_soften_each_label_through_its_logit():
    from podium.tasks.distillation import sigmoid_cross_entropy, softened_sigmoid

    p = np.array([[0.9, 0.5, 0.1]])
    assert np.allclose(softened_sigmoid(p, 1.0), p, atol=1e-6)
    hot = softened_sigmoid(p, 3.0)
    assert 0.5 < hot[0, 0] < 0.9 and np.isclose(hot[0, 1], 0.5) and 0.1 < hot[0, 2] < 0.5
    logits, soft = torch.tensor([[2.0, 0.0, -2.0]]), torch.tensor([[0.8, 0.5, 0.2]])
    expected = F.binary_cross_entropy_with_logits(logits / 2, soft) * 4
    assert torch.allclose(sigmoid_cross_entropy(logits, soft, 2.0), expected.reshape(1))


def test_distill_loss_mixes_labels_and_teacher_as_documented():
    torch.manual_seed(0)
    logits, t = torch.randn(6, 3), 2.0
    labels = F.one_hot(torch.tensor([0, 1, 2, 0, 1, 2]), 3).float()
    teacher = torch.softmax(torch.randn(6, 3), 1)
    base = lambda lg, y, w: -(y * F.log_softmax(lg, 1)).sum(1).mean()  # noqa: E731
    from podium.tasks.distillation import SoftmaxDistillation  # the task's half

    both = torch.hstack([labels, teacher])
    for alpha in (0.0, 0.3, 1.0):
        got = DistillLoss(SoftmaxDistillation(), base, 3, alpha, t)(logits, both, None)
        kd = -(teacher * F.log_softmax(logits / t, 1)).sum(1).mean() * t**2
        assert torch.allclose(got, (1 - alpha) * base(logits, labels, None) + alpha * kd)


def _exp(tiny_config, name: str, *extra: str) -> Experiment:
    cfg = tiny_config(
        f"name={name}", "train.folds=[0]", "model.name=test_resnet", "train.epochs=2", *extra
    )
    folds_stage.run(cfg)
    return Experiment(cfg)


@pytest.fixture
def teacher(tiny_config) -> Experiment:
    exp = _exp(tiny_config, "teacher")
    train_stage.run(exp)
    return exp


def test_alpha_zero_trains_bit_for_bit_like_plain_training(tiny_config, teacher):
    plain = _exp(tiny_config, "plain")
    train_stage.run(plain)
    student = _exp(tiny_config, "student", "train.distill={teacher: t.yaml, alpha: 0.0}")
    train_stage.run(student, teachers=[teacher])
    a = load_checkpoint(plain.unit_dir(0, 0) / "last.pt")["model"]
    b = load_checkpoint(student.unit_dir(0, 0) / "last.pt")["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)

    taught = _exp(tiny_config, "taught", "train.distill={teacher: t.yaml, alpha: 0.9}")
    train_stage.run(taught, teachers=[teacher])
    c = load_checkpoint(taught.unit_dir(0, 0) / "last.pt")["model"]
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_a_distilled_unit_resumes_exactly(tiny_config, teacher):
    from test_resume import assert_same

    from podium.engine.trainer import Interrupted

    settings = ("train.distill={teacher: t.yaml, alpha: 0.7}", "train.mixup_alpha=0.4")
    whole = _exp(tiny_config, "whole", *settings)
    train_stage.run(whole, teachers=[teacher])
    with pytest.raises(Interrupted):
        train_stage.run(
            _exp(tiny_config, "resumed", *settings, "train.stop_after_epoch=1"), teachers=[teacher]
        )
    resumed = _exp(tiny_config, "resumed", *settings)
    train_stage.run(resumed, teachers=[teacher])
    a = load_checkpoint(whole.unit_dir(0, 0) / "last.pt")
    assert_same(a, load_checkpoint(resumed.unit_dir(0, 0) / "last.pt"), "last.pt")


def test_the_teacher_predicts_with_its_fold_k_models_only(tiny_config, teacher, monkeypatch):
    student = _exp(tiny_config, "student", "train.distill={teacher: t.yaml}")
    folds_used: list[int] = []
    from podium.units import predict

    real = predict.UnitPredictor.per_seed

    def spy(self, fold, *args, **kwargs):
        folds_used.append(fold)
        return real(self, fold, *args, **kwargs)

    monkeypatch.setattr(predict.UnitPredictor, "per_seed", spy)
    distiller = Distiller(student, [teacher])
    rows = student.train_images[student.fold_of_row != 0]
    soft = distiller.soft_targets(0, rows)
    assert folds_used == [0] and soft.shape == (len(rows), student.task.num_outputs)
    assert np.allclose(soft.sum(1), 1.0, atol=1e-5)
    # the fingerprint follows the teacher's fold-k units
    before = distiller.fingerprint(0)
    (teacher.unit_dir(0, 0) / "result.json").write_text(
        (teacher.unit_dir(0, 0) / "result.json")
        .read_text()
        .replace('"fingerprint": "', '"fingerprint": "x')
    )
    assert distiller.fingerprint(0) != before


def test_a_tabular_teacher_is_refused(tmp_path, demo_data_root):
    student = {
        "extends": str(ROOT / "configs/digits/resnet10t.yaml"),
        "paths": {"data": str(demo_data_root), "runs": str(tmp_path / "runs")},
        "train": {"distill": {"teacher": str(ROOT / "configs/digits/pixels_svc.yaml")}},
    }
    path = tmp_path / "student.yaml"
    path.write_text(yaml.safe_dump(student))
    from podium import pipeline

    with pytest.raises(ConfigError, match="is a tabular model"):
        pipeline.run("train", pipeline.Request(config=path))


def test_podium_train_trains_the_teacher_then_the_student(tmp_path, demo_data_root):
    common = {
        "extends": str(ROOT / "configs/digits/base.yaml"),
        "paths": {"data": str(demo_data_root), "runs": str(tmp_path / "runs")},
        "folds": {"n_splits": 2},
        "model": {"name": "test_resnet"},
        "train": {"epochs": 1, "folds": [0], "progress": False},
    }
    (tmp_path / "teacher.yaml").write_text(yaml.safe_dump({**common, "name": "big"}))
    student = {**common, "name": "small"}
    student["train"] = {**common["train"], "distill": {"teacher": "teacher.yaml", "alpha": 0.5}}
    (tmp_path / "student.yaml").write_text(yaml.safe_dump(student))
    assert main(["train", "-c", str(tmp_path / "student.yaml")]) == 0
    runs = tmp_path / "runs" / "digits"
    assert (runs / "big" / "fold0" / "seed0" / "result.json").exists()
    assert (runs / "small" / "fold0" / "seed0" / "result.json").exists()
    assert TrainConfig.model_validate(student["train"]).distill is not None
