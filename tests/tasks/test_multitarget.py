"""The multitarget task on tables written in the test: its config keys and their errors, the
encoding of targets (missing labels, numbers written two ways, a value outside the classes),
the loss (class weights as sample weights, missing labels masked), the submission's column
map (default names, a binary target's one column, an explicit map, unknown and missing
columns), grouped folds, and what it refuses (an ensemble's stack, a class-weights setting)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from podium.competition import Competition
from podium.config import from_dict
from podium.errors import ConfigError, DataError
from podium.folds import assign_folds
from podium.tasks.multitarget_codec import map_columns
from podium.validate import validate

TARGETS = {
    "bowel": {"kind": "binary", "classes": ["healthy", "injury"], "weights": [1, 2]},
    "kidney": {"kind": "multiclass", "classes": ["healthy", "low", "high"], "weights": [1, 2, 4]},
    "spine": {"kind": "ordinal", "classes": [0, 1, 2]},
}
SAMPLE = ["bowel_healthy", "bowel_injury", "kidney_healthy", "kidney_low", "kidney_high"]
SAMPLE += ["spine_0", "spine_1", "spine_2"]


def write(root: Path, rows: int = 12, sample: list[str] = SAMPLE, **column) -> Path:
    comp = root / "mt"
    (comp / "train").mkdir(parents=True)
    (comp / "test").mkdir()
    rng = np.random.default_rng(0)
    table = {
        "id": [f"s{i:02d}" for i in range(rows)],
        "patient": [f"p{i // 2}" for i in range(rows)],
        "bowel": rng.choice(["healthy", "injury"], rows),
        "kidney": rng.choice(["healthy", "low", "high"], rows),
        "spine": rng.choice(["0.0", "1.0", "2.0", ""], rows),  # pandas' floats, some missing
    } | column
    pd.DataFrame(table).to_csv(comp / "train.csv", index=False)
    pd.DataFrame({"id": ["t0", "t1"], **{c: 0.5 for c in sample}}).to_csv(
        comp / "sample_submission.csv", index=False
    )
    return comp


def config(root: Path, targets: dict = TARGETS, **extra):
    sections = {k: v for k, v in extra.items() if k in ("ensemble", "train", "folds", "tune")}
    competition = {k: v for k, v in extra.items() if k not in sections}
    return from_dict(
        {
            "name": "mt",
            "competition": {
                "name": "mt",
                "task": "multitarget",
                "targets": targets,
                "solution": None,
                "group_column": "patient",
                **competition,
            },
            "folds": {"n_splits": 2, "method": "stratified_group"},
            "data": {"image_size": 8, "num_workers": 0},
            "paths": {"data": str(root), "runs": str(root / "runs")},
        }
        | sections
    )


def test_targets_are_encoded_with_missing_labels_and_numbers_written_as_floats(tmp_path):
    write(tmp_path)
    comp = Competition.from_config(config(tmp_path))
    y, train = comp.targets, comp.train
    assert y.shape == (12, 3)
    assert (y[:, 2] == -1).tolist() == (train["spine"] == "").tolist()
    assert set(y[:, 2][y[:, 2] >= 0]) <= {0, 1, 2}  # '1.0' is class '1'
    task = comp.task
    assert task.num_outputs == 8
    assert task.columns[:3] == ["bowel_healthy", "bowel_injury", "kidney_healthy"]
    hot = task.training_targets(y)
    assert hot.shape == (12, 8) and (hot[:, 5:].sum(axis=1) == (y[:, 2] >= 0)).all()
    assert task.metric.name == "weighted_log_loss" and not task.metric.greater_is_better


def test_a_value_outside_the_classes_names_the_file_line_and_column(tmp_path):
    write(tmp_path, kidney=["healthy"] * 5 + ["medium"] + ["low"] * 6)
    with pytest.raises(
        DataError, match=r"train\.csv: line 7 \(id 's05'\), column 'kidney' has 'medium'"
    ):
        _ = Competition.from_config(config(tmp_path)).targets


@pytest.mark.parametrize(
    ("targets", "match"),
    [
        (
            {"bowel": {"kind": "binary", "weights": [1, 2, 3], "classes": ["a", "b"]}},
            "weights has 3",
        ),
        ({"bowel": {"kind": "binary", "classes": ["a", "b", "c"]}}, "two classes"),
        ({"bowel": {"kind": "multiclass", "weights": [1, -1], "classes": ["a", "b"]}}, "positive"),
        ({}, "needs `targets:`"),
    ],
)
def test_bad_target_keys_are_config_errors(tmp_path, targets, match):
    with pytest.raises(ConfigError, match=match):
        config(tmp_path, targets=targets)


def test_weights_of_the_wrong_length_for_classes_read_from_train(tmp_path):
    write(tmp_path)
    targets = TARGETS | {"kidney": {"kind": "multiclass", "weights": [1, 2]}}
    with pytest.raises(ConfigError, match=r"competition.targets.kidney.weights has 2 values"):
        _ = Competition.from_config(config(tmp_path, targets=targets)).task


def test_targets_belong_to_the_multitarget_task(tmp_path):
    with pytest.raises(ConfigError, match="targets is for a multitarget task"):
        from_dict({"name": "x", "competition": {"name": "x", "targets": TARGETS}})


def test_the_loss_weights_classes_and_masks_missing_labels(tmp_path):
    write(tmp_path)
    cfg = config(tmp_path)
    task = Competition.from_config(cfg).task
    y = np.array([[1, 2, -1], [0, 0, 1]])
    logits = torch.randn(2, 8, requires_grad=True)
    loss = task.build_loss(cfg.train, task.training_targets(y))(
        logits, torch.from_numpy(task.training_targets(y)), None
    )
    logp = torch.log_softmax(logits.detach(), dim=1)
    bowel = torch.log_softmax(logits.detach()[:, :2], 1)
    kidney = torch.log_softmax(logits.detach()[:, 2:5], 1)
    spine = torch.log_softmax(logits.detach()[:, 5:], 1)
    expected = -(2 * bowel[0, 1] + 1 * bowel[1, 0]) / 3
    expected += -(4 * kidney[0, 2] + 1 * kidney[1, 0]) / 5
    expected += -spine[1, 1]  # row 0's spine is missing: not in its term at all
    assert logp.shape == (2, 8)
    assert float(loss.detach()) == pytest.approx(float(expected), rel=1e-5)
    loss.backward()
    assert torch.all(logits.grad[0, 5:] == 0)  # a missing label sends no gradient


def test_activate_and_merge_give_one_softmax_per_target(tmp_path):
    write(tmp_path)
    task = Competition.from_config(config(tmp_path)).task
    logits = np.random.default_rng(0).normal(size=(3, 4, 8))
    for pred in (task.activate(logits[0]), task.merge(logits, "prob"), task.merge(logits, "logit")):
        sums = [pred[:, s].sum(axis=1) for s in (slice(0, 2), slice(2, 5), slice(5, 8))]
        np.testing.assert_allclose(sums, 1.0)


def test_the_submission_codec_maps_columns_both_ways(tmp_path):
    write(tmp_path)
    task = Competition.from_config(config(tmp_path)).task
    pred = task.activate(np.random.default_rng(1).normal(size=(2, 8)))
    values = task.submission.values(pred, SAMPLE)
    assert list(values) == SAMPLE
    back = task.submission.predictions(pd.DataFrame(values), SAMPLE)
    np.testing.assert_allclose(back, pred)
    # a binary target's one column holds its positive class; the other is one minus it
    one = ["bowel", *SAMPLE[2:]]
    back = task.submission.predictions(pd.DataFrame(task.submission.values(pred, one)), one)
    np.testing.assert_allclose(back, pred)


def test_an_explicit_column_map_and_bad_columns(tmp_path):
    write(tmp_path)
    targets = TARGETS | {
        "spine": {
            "kind": "ordinal",
            "classes": [0, 1, 2],
            "columns": {"0": "normal", "1": "moderate", "2": "severe"},
        }
    }
    task = Competition.from_config(config(tmp_path, targets=targets)).task
    columns = [*SAMPLE[:5], "normal", "moderate", "severe"]
    assert map_columns(task.targets, columns, "s")["severe"] == 7
    with pytest.raises(DataError, match=r"s: column 'extra' maps to no \(target, class\)"):
        map_columns(task.targets, [*columns, "extra"], "s")
    with pytest.raises(DataError, match=r"no column for target 'kidney' class 'healthy'"):
        map_columns(task.targets, [c for c in columns if not c.startswith("kidney_h")][:-1], "s")


def test_validation_refuses_a_sample_column_that_maps_to_no_target(tmp_path):
    write(tmp_path, sample=[*SAMPLE, "any_injury"])
    with pytest.raises(DataError, match="column 'any_injury' maps to no"):
        validate(config(tmp_path))


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ({"ensemble": {"members": ["a.yaml"], "select": "stack"}}, "ensemble.select"),
        (
            {
                "ensemble": {"members": ["a.yaml"]},
                "tune": {
                    "mode": "meta",
                    "space": {"max_depth": {"type": "int", "low": 2, "high": 4}},
                },
            },
            "tune.mode",
        ),
        ({"train": {"class_weights": "balanced"}}, "train.class_weights"),
        ({"train": {"loss": "mse"}}, "train.loss"),
        ({"submission_format": "label"}, "competition.submission_format"),
    ],
)
def test_what_the_task_cannot_honour_is_refused_naming_the_key(tmp_path, extra, key):
    write(tmp_path)
    cfg = config(tmp_path, **extra)
    with pytest.raises(ConfigError, match=key):
        Competition.from_config(cfg).task.check_config(cfg)


def test_folds_keep_a_patient_together_and_balance_every_class(tmp_path):
    write(tmp_path, rows=40)
    cfg = config(tmp_path)
    comp = Competition.from_config(cfg)
    folds = assign_folds(comp, cfg.folds)
    by_patient = folds.assign(p=comp.train["patient"]).groupby("p")["fold"].nunique()
    assert (by_patient == 1).all() and set(folds["fold"]) == {0, 1}
    assert not math.isnan(comp.task.metric(comp.targets, np.full((40, 8), 0.4)))


def write_rsna_2023_layout(root: Path, rows: list[dict]) -> Path:
    comp = root / "mt"
    (comp / "train").mkdir(parents=True)
    pd.DataFrame(rows).to_csv(comp / "train.csv", index=False)
    columns = ["bowel_healthy", "bowel_injury", "kidney_healthy", "kidney_low", "kidney_high"]
    pd.DataFrame({"id": ["t0"], **{c: 0.5 for c in columns}}).to_csv(
        comp / "sample_submission.csv", index=False
    )
    return comp


RSNA = {k: TARGETS[k] for k in ("bowel", "kidney")}
ROW = {"bowel_healthy": 1, "bowel_injury": 0, "kidney_healthy": 0, "kidney_low": 0}


def test_targets_written_as_one_column_per_class_rsna_2023(tmp_path):
    rows = [
        {"id": "a", "patient": "p0", **ROW, "kidney_high": 1, "any_injury": 1},
        {"id": "b", "patient": "p1", **ROW, "kidney_healthy": 1, "kidney_high": 0, "any_injury": 0},
        {"id": "c", "patient": "p2", **ROW, "kidney_high": 0, "any_injury": 0},  # kidney: none
    ]
    write_rsna_2023_layout(tmp_path, rows)
    comp = Competition.from_config(config(tmp_path, targets=RSNA))
    assert comp.targets.tolist() == [[0, 2], [0, 0], [0, -1]]


def test_two_classes_set_in_one_row_names_the_line(tmp_path):
    rows = [{"id": "a", "patient": "p0", **ROW, "bowel_injury": 1, "kidney_high": 1}]
    write_rsna_2023_layout(tmp_path, rows)
    with pytest.raises(DataError, match=r"line 2 has 1 in several class columns of target 'bowel'"):
        _ = Competition.from_config(config(tmp_path, targets=RSNA)).targets
