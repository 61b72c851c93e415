"""The ordinal task: integer grades read with errors that name the line, QWK against
scikit-learn with every grade passed, the two heads (a regression on the grade; softmax ->
expected grade, merged as probabilities), CV-honest cut-points in the score block, integer
grades in the submission, the settings it refuses, and tabular regressors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import cohen_kappa_score

from factories import toy_config, write_competition
from podium.competition import Competition
from podium.config import ConfigError, TrainConfig, from_dict
from podium.errors import ArtifactError, DataError
from podium.metrics import DecisionSummary, scores_header
from podium.metrics.ordinal import apply_cutpoints
from podium.predictions import TEST, write_test
from podium.scoring import decided_oof, score_predictions
from podium.submission import build_submission, validate_submission
from podium.tasks.losses import SoftTargetLoss
from podium.tasks.ordinal import Ordinal
from podium.validate import validate


def ordinal(tmp_path: Path, values: list[str], **competition) -> Competition:
    write_competition(tmp_path, values)
    return Competition.from_config(toy_config(tmp_path, task="ordinal", **competition))


def test_defaults_are_qwk_and_mse_and_grades_span_train(tmp_path):
    comp = ordinal(tmp_path, ["0", "1", "4", "3", "1"])
    task = comp.task
    assert task.metric.name == "qwk" and task.head.loss == "mse"  # the task's defaults
    expectation = ordinal(tmp_path, ["0", "1", "4", "3", "1"], ordinal_head="expectation")
    loss = expectation.task.build_loss(TrainConfig(), np.eye(5, dtype=np.float32))
    assert isinstance(loss, SoftTargetLoss)  # the expectation head's default: ce
    assert isinstance(task, Ordinal) and task.grades.tolist() == [0, 1, 2, 3, 4]  # 2 included
    assert task.columns == ["pred_label"] and task.num_outputs == 1


@pytest.mark.parametrize(
    "value, grades, message",
    [
        ("1.5", None, "line 4 (id 'r002'), column 'label' has '1.5', not an integer grade"),
        ("7", [0, 1, 2, 3], "line 4 (id 'r002'), column 'label' has '7', not one of the grades"),
        ("x", None, "line 4 (id 'r002'), column 'label' has 'x', not a number"),
    ],
)
def test_a_bad_grade_names_the_file_line_and_id(tmp_path, value, grades, message):
    comp = ordinal(tmp_path, ["0", "1", value, "3"], grades=grades)
    with pytest.raises(DataError, match="train.csv: line 4") as e:
        _ = comp.task
    assert message in str(e.value)


def test_ordinal_keys_are_refused_on_other_tasks(tmp_path):
    with pytest.raises(ValueError, match="grades is for an ordinal task"):
        toy_config(tmp_path, grades=[0, 1])
    with pytest.raises(ValueError, match="grades must be at least two distinct integers"):
        toy_config(tmp_path, task="ordinal", grades=[1, 1])


def test_qwk_matches_scikit_learn_with_every_grade(tmp_path):
    comp = ordinal(tmp_path, ["0", "1", "2", "3", "4"])
    metric, rng = comp.task.metric, np.random.default_rng(0)
    for _ in range(20):
        n = int(rng.integers(5, 60))
        y = rng.choice([0, 1, 3, 4], n)  # grade 2 absent: its distances still count
        values = rng.normal(2, 1.5, n)
        rounded = apply_cutpoints(values, np.array([0.5, 1.5, 2.5, 3.5]))
        expected = cohen_kappa_score(y, rounded, labels=[0, 1, 2, 3, 4], weights="quadratic")
        assert metric(y[:, None].astype(float), values[:, None]) == pytest.approx(expected)


def test_qwk_measures_distance_by_grade_value_not_position(tmp_path):
    """Grades {0, 1, 3, 7}: 3 and 7 are four apart (Kaggle's QWK over every rating from min
    to max), not one position. By hand, y = [0, 1, 3, 7], pred = [1, 1, 3, 3]: observed
    weighted disagreement (0-1)² + (7-3)² = 17; expected, each y grade against pred 1 and 3
    with weight 1/2: ((0-1)² + (0-3)² + 0 + (1-3)² + (3-1)² + 0 + (7-1)² + (7-3)²) / 2 = 35;
    kappa = 1 - 17/35 = 18/35 (by position it would be 1 - 2/6)."""
    y, pred = np.array([0.0, 1, 3, 7])[:, None], np.array([1.0, 1, 3, 3])[:, None]
    listed = ordinal(tmp_path, ["0", "1", "3", "7"], grades=[0, 1, 3, 7]).task
    assert listed.metric(y, pred) == pytest.approx(18 / 35)
    every_integer = ordinal(tmp_path, ["0", "1", "3", "7"]).task  # grades 0..7 by default
    assert every_integer.grades.tolist() == list(range(8))
    assert every_integer.metric(y, pred) == pytest.approx(18 / 35)


def test_expectation_head_merges_probabilities_then_takes_the_expected_grade(tmp_path):
    comp = ordinal(tmp_path, ["0", "1", "2", "2"], ordinal_head="expectation")
    task = comp.task
    assert task.num_outputs == 3 and task.columns == ["pred_label"]
    logits = np.random.default_rng(1).normal(size=(4, 5, 3)) * 3
    proba = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    np.testing.assert_allclose(task.merge(logits, "prob")[:, 0], proba.mean(0) @ [0, 1, 2])
    mean = logits.mean(0)
    soft = np.exp(mean) / np.exp(mean).sum(-1, keepdims=True)
    np.testing.assert_allclose(task.merge(logits, "logit")[:, 0], soft @ [0, 1, 2])
    targets = task.training_targets(np.array([[0.0], [2.0]]))
    np.testing.assert_array_equal(targets, [[1, 0, 0], [0, 0, 1]])


def test_cut_points_of_fold_k_never_see_fold_k(tmp_path):
    comp = ordinal(tmp_path, ["0", "1", "2", "3", "4"])
    task, rng = comp.task, np.random.default_rng(2)
    n = 300
    y = rng.integers(0, 5, n).astype(float)[:, None]
    pred = y * 0.7 + rng.normal(0, 0.5, (n, 1))
    fold = np.arange(n) % 3
    base = score_predictions(task, y, pred, fold)
    changed = pred.copy()
    changed[fold == 0] = rng.normal(2, 3, ((fold == 0).sum(), 1))  # fold 0's predictions only
    other = score_predictions(task, y, changed, fold)
    assert base.decision is not None and other.decision is not None
    a, b = base.decision.fold_params, other.decision.fold_params
    assert a[0] == b[0]  # fitted without fold 0: unchanged
    assert a[1] != b[1] and a[2] != b[2]  # fold 0 is in their fitting rows
    # the reported QWK is the fold-wise graded one, not the in-sample fit
    grades = np.concatenate([apply_cutpoints(pred[fold == k, 0], np.array(a[k])) for k in range(3)])
    order = np.concatenate([np.flatnonzero(fold == k) for k in range(3)])
    honest = cohen_kappa_score(y[order, 0], grades, labels=range(5), weights="quadratic")
    assert base.score == pytest.approx(honest) == base.decision.cv_score
    assert scores_header(base, True, "mse")["cv"] == base.score
    assert base.decision.fit_score >= base.secondary["rounded_qwk"]
    assert set(base.secondary) == {"rmse", "accuracy", "rounded_qwk", "rounded_accuracy"}


def test_submission_holds_grades_cut_at_the_oof_cut_points(tmp_path):
    comp = ordinal(tmp_path, ["0", "1", "2", "3", "4"])
    run_dir = tmp_path / "run"
    pred = np.array([[-1.0], [0.9], [2.2], [9.0]])
    write_test(run_dir / TEST, comp.task, comp.test_ids, pred)
    with pytest.raises(ArtifactError, match="scores not found"):
        build_submission(comp, run_dir)
    (run_dir / "scores.json").write_text('{"final": {"qwk": 0.5}}')
    with pytest.raises(ArtifactError, match="no cutpoints fitted on the OOF rows"):
        build_submission(comp, run_dir)
    cuts = DecisionSummary("cutpoints", [1, 2], {}, 0.0, {}, 0.0).to_json()
    (run_dir / "scores.json").write_text(json.dumps({"final": {"decision": cuts}}))
    with pytest.raises(ArtifactError, match="no cut-points for the grades"):
        build_submission(comp, run_dir)
    cuts = DecisionSummary("cutpoints", [1, 2, 2.1, 3], {}, 0.0, {}, 0.0).to_json()
    (run_dir / "scores.json").write_text(json.dumps({"final": {"decision": cuts}}))
    sub = build_submission(comp, run_dir)
    assert sub["label"].tolist() == [0, 0, 3, 4]  # 0.9 < 1 -> 0; 2.2 >= 2.1 -> 3
    validate_submission(comp, sub, "sub")
    bad = sub.astype({"label": str})
    bad.loc[1, "label"] = "2.5"
    with pytest.raises(DataError, match="line 3, column 'label' = '2.5' is not one of the grades"):
        validate_submission(comp, bad, "sub")


@pytest.mark.parametrize(
    "competition, section, message",
    [
        (
            {},
            {"pseudo": {"teacher": "a.yaml"}},
            "pseudo: pseudo-labels select confident predictions as labels; an ordinal",
        ),
        ({}, {"train": {"loss": "ce"}}, "train.loss: 'ce' is a classification loss"),
        ({"ordinal_head": "expectation"}, {"train": {"loss": "mse"}}, "train.loss: 'mse' is a"),
        ({}, {"train": {"sampler": "upsample"}}, "train.sampler: "),
        ({}, {"ensemble": {"members": ["a.yaml"]}}, "ensemble.meta.prior: 'logit_blend'"),
        ({}, {"tabular": {"model": "svc"}}, "tabular: 'svc' is a classifier"),
    ],
)
def test_refused_settings_name_the_key(tmp_path, competition, section, message):
    write_competition(tmp_path, ["0", "1", "2", "3"])
    d = toy_config(tmp_path, task="ordinal", **competition).model_dump(
        mode="json", exclude={"source"}
    )
    for key, values in section.items():
        d[key] = {**(d.get(key) or {}), **values}
    with pytest.raises(ConfigError, match=message):
        validate(from_dict(d, source="toy"))


def test_tune_maximizes_qwk(tmp_path):
    from podium.tasks import metric_of

    cfg = toy_config(tmp_path, task="ordinal")
    assert metric_of(cfg.competition).greater_is_better


def test_expectation_head_takes_class_settings(tmp_path):
    write_competition(tmp_path, ["0", "1", "2", "3"])
    cfg = toy_config(tmp_path, task="ordinal", ordinal_head="expectation")
    cfg.train.sampler = "upsample"
    cfg.train.label_smoothing = 0.1
    validate(cfg)


def test_a_classifier_task_refuses_a_tabular_regressor(tmp_path):
    write_competition(tmp_path, ["a", "b", "a", "b"])
    d = toy_config(tmp_path).model_dump(mode="json", exclude={"source"})
    d["tabular"] = {"model": "ridge"}
    with pytest.raises(ConfigError, match="tabular: 'ridge' is a regressor"):
        validate(from_dict(d, source="toy"))


def test_a_tabular_regressor_predicts_grades_on_the_folds(tmp_path):
    """ridge on the pixels of a toy grade competition: one value column, cut-point scores."""
    from podium.experiment import Experiment
    from podium.stages import folds, tabular

    grades = [str(i % 5) for i in range(40)]
    write_competition(tmp_path, grades)
    d = toy_config(tmp_path, task="ordinal").model_dump(mode="json", exclude={"source"})
    d["tabular"] = {"model": "ridge", "image_size": 4}
    cfg = from_dict(d, source="toy")
    folds.run(cfg)
    exp = Experiment(cfg)
    tabular.run(exp)
    oof = pd.read_parquet(exp.run_dir / "oof.parquet")
    assert list(oof.columns) == ["id", "fold", "target", "pred_label"]
    scores = pd.read_json(exp.run_dir / "scores.json", typ="series")
    assert scores["metric"] == "qwk" and scores["final"]["decision"]["kind"] == "cutpoints"


def test_the_paired_comparison_counts_cv_graded_rows(tmp_path):
    from podium.ensemble.significance import compare

    comp = ordinal(tmp_path, ["0", "1", "2", "3", "4"])
    task, rng = comp.task, np.random.default_rng(3)
    n = 200
    y = rng.integers(0, 5, n).astype(float)[:, None]
    fold = np.arange(n) % 2
    a, b = y + rng.normal(0, 0.4, (n, 1)), y * 0.8 + rng.normal(0, 0.6, (n, 1))
    ga, gb = decided_oof(task, y, a, fold), decided_oof(task, y, b, fold)
    assert set(np.unique(ga)) <= {0, 1, 2, 3, 4}
    result = compare(task, y, a, b, n_boot=50, decided=(ga, gb))
    right_a, right_b = ga[:, 0] == y[:, 0], gb[:, 0] == y[:, 0]
    assert result.fixed == int((right_a & ~right_b).sum())
    assert result.broken == int((~right_a & right_b).sum())
    qwk = task.metric
    assert result.gains["qwk"].observed == pytest.approx(qwk(y, ga) - qwk(y, gb))
