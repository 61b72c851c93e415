"""The regression task: numeric targets read with errors that name the line, the scaled
training targets and their inverse, the losses, the merges, quantile-bin folds, the
submission round trip (clipping), the settings it refuses, and one tiny run end to end on the
regression demo (folds -> train -> oof -> infer -> submit -> score)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from factories import tiny_task_overrides, toy_config, write_competition
from podium.competition import Competition
from podium.config import ConfigError, FoldsConfig, from_dict, load_config
from podium.errors import DataError
from podium.experiment import Experiment
from podium.folds import assign_folds
from podium.pipeline import Request, run
from podium.predictions import TEST, write_test
from podium.submission import build_submission, read_submission, validate_submission
from podium.tasks.regression import Regression, RegressionLoss
from podium.validate import validate

ROOT = Path(__file__).resolve().parents[2]


def regression(tmp_path: Path, values: list[str], **competition) -> Competition:
    write_competition(tmp_path, values)
    cfg = toy_config(tmp_path, task="regression", **competition)
    return Competition.from_config(cfg)


def test_defaults_are_rmse_and_mse(tmp_path):
    comp = regression(tmp_path, ["1.0", "2.5", "3.0", "4.0"])
    assert comp.task.metric.name == "rmse" and comp.task.loss == "mse"  # the task's defaults
    assert comp.cfg.metric is None and toy_config(tmp_path).train.loss is None


@pytest.mark.parametrize(
    "value, message",
    [("", "line 4 (id 'r002'), column 'label' has an empty value"), ("abc", "'abc', not a number")],
)
def test_a_bad_value_names_the_file_line_and_id(tmp_path, value, message):
    comp = regression(tmp_path, ["1.5", "2", value, "3"])
    with pytest.raises(DataError, match="train.csv: line 4") as e:
        _ = comp.task
    assert message in str(e.value)


def test_several_targets(tmp_path):
    write_competition(tmp_path, ["1", "2", "3", "4"])
    table = pd.read_csv(tmp_path / "toy" / "train.csv", dtype=str)
    table.assign(a=["1", "2", "3", "4"], b=["10", "20", "30", "x"]).to_csv(
        tmp_path / "toy" / "train.csv", index=False
    )
    cfg = toy_config(tmp_path, task="regression", target_columns=["a", "b"])
    with pytest.raises(DataError, match="line 5 \\(id 'r003'\\), column 'b' has 'x'"):
        _ = Competition.from_config(cfg).task
    table.assign(a=["1", "2", "3", "4"], b=["10", "20", "30", "40"]).to_csv(
        tmp_path / "toy" / "train.csv", index=False
    )
    comp = Competition.from_config(cfg)
    assert comp.task.columns == ["pred_a", "pred_b"]
    assert comp.targets.shape == (4, 2)
    assert list(comp.task.target_frame(comp.train).columns) == ["target_a", "target_b"]
    with pytest.raises(ConfigError, match="target_columns is for a regression task"):
        toy_config(tmp_path, target_columns=["a", "b"])


def test_training_targets_are_scaled_and_activate_inverts_them(tmp_path):
    comp = regression(tmp_path, ["0", "2", "4", "6"])
    task, y = comp.task, comp.targets
    z = task.training_targets(y)
    assert z.mean() == pytest.approx(0.0, abs=1e-6) and z.std() == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_allclose(task.activate(z), y, atol=1e-5)
    bce = Regression(comp.cfg, Path("t"), y, loss="bce")
    t = bce.training_targets(y)
    np.testing.assert_allclose(t[:, 0], [0, 1 / 3, 2 / 3, 1], rtol=1e-6)
    t = np.clip(t.astype(np.float64), 1e-9, 1 - 1e-9)
    logits = np.log(t / (1 - t))
    np.testing.assert_allclose(bce.activate(logits), y, atol=1e-6)


def test_losses(tmp_path):
    out, target = torch.tensor([[0.0], [2.0]]), torch.tensor([[1.0], [0.0]])
    assert RegressionLoss("mse")(out, target).item() == pytest.approx((1 + 4) / 2)
    assert RegressionLoss("l1")(out, target).item() == pytest.approx((1 + 2) / 2)
    assert RegressionLoss("huber")(out, target).item() == pytest.approx((0.5 + 1.5) / 2)
    expected = F.binary_cross_entropy_with_logits(out, target).item()
    assert RegressionLoss("bce")(out, target).item() == pytest.approx(expected)
    weights = torch.tensor([1.0, 0.0])  # a row weight of 0 drops the row
    assert RegressionLoss("mse")(out, target, weights).item() == pytest.approx(0.5)


def test_merge_is_a_mean_of_values(tmp_path):
    comp = regression(tmp_path, ["0", "2", "4", "6"])
    logits = np.random.default_rng(0).normal(size=(3, 5, 1))
    task = comp.task
    np.testing.assert_allclose(task.merge(logits, "prob"), task.activate(logits).mean(0))
    np.testing.assert_allclose(task.merge(logits, "logit"), task.merge(logits, "prob"))
    bce = Regression(comp.cfg, Path("t"), comp.targets, loss="bce")
    assert not np.allclose(bce.merge(logits, "logit"), bce.merge(logits, "prob"))  # sigmoid
    with pytest.raises(ConfigError, match="infer.merge"):
        task.merge(logits, "geometric")


def test_folds_stratify_on_quantile_bins(tmp_path):
    values = np.random.default_rng(1).exponential(size=200)
    comp = regression(tmp_path, [f"{v:.4f}" for v in values])
    key = comp.task.folds.stratify_key(comp.targets)
    assert sorted(np.bincount(key)) == [25] * 8  # 200 rows: 8 bins of 25
    assert (np.diff([values[key == b].max() for b in range(8)]) > 0).all()  # ordered bins
    folds = assign_folds(comp, FoldsConfig(n_splits=2))
    means = [values[folds["fold"] == k].mean() for k in (0, 1)]
    assert abs(means[0] - means[1]) < 0.1  # stratified: both folds see the same range


def test_submission_round_trip_with_clipping(tmp_path):
    comp = regression(tmp_path, ["1", "2", "3", "4"], clip=True)
    run_dir = tmp_path / "run"
    pred = np.array([[0.0], [2.5], [9.0], [3.0]])
    write_test(run_dir / TEST, comp.task, comp.test_ids, pred)
    sub = build_submission(comp, run_dir)
    np.testing.assert_allclose(sub["label"], [1.0, 2.5, 4.0, 3.0])  # train.csv's range
    path = tmp_path / "sub.csv"
    sub.to_csv(path, index=False)
    back = read_submission(path)
    validate_submission(comp, back, str(path))
    np.testing.assert_allclose(
        comp.task.submission.predictions(back, ["label"])[:, 0], sub["label"]
    )
    back.loc[2, "label"] = "many"
    with pytest.raises(DataError, match="line 4, column 'label' = 'many' is not a number"):
        validate_submission(comp, back, str(path))
    unclipped = regression(tmp_path / "u", ["1", "2", "3", "4"])
    assert unclipped.task.submission.values(pred, ["label"])["label"][2] == 9.0


@pytest.mark.parametrize(
    "override, key",
    [
        ({"train": {"loss": "ce"}}, "train.loss"),
        ({"train": {"sampler": "upsample"}}, "train.sampler"),
        ({"train": {"label_smoothing": 0.1}}, "train.label_smoothing"),
        ({"infer": {"merge": "geometric"}}, "infer.merge"),
        ({"tabular": {"model": "svc"}}, "tabular"),
        ({"ensemble": {"members": ["a.yaml"]}}, "ensemble.meta.prior"),
    ],
)
def test_refused_settings_name_the_key(tmp_path, override, key):
    write_competition(tmp_path, ["1", "2", "3", "4"])
    d = toy_config(tmp_path, task="regression").model_dump(mode="json", exclude={"source"})
    for section, values in override.items():
        d[section] = {**(d.get(section) or {}), **values}
    with pytest.raises(ConfigError, match=f"{key}: "):
        validate(from_dict(d, source="toy"))


def test_classification_refuses_a_regression_loss(tmp_path):
    write_competition(tmp_path, ["a", "b", "a", "b"])
    cfg = toy_config(tmp_path)
    cfg.train.loss = "mse"
    with pytest.raises(ConfigError, match="train.loss: 'mse' is a regression loss"):
        validate(cfg)


def tiny(tmp_path: Path) -> list[str]:
    return tiny_task_overrides(tmp_path, "regression")


def test_tiny_run_end_to_end(tmp_path):
    """folds, train (test_convnext, 1 epoch, 2 folds), oof, infer, submit, score with RMSE."""
    overrides = tiny(tmp_path)
    config = ROOT / "configs/digits_regression/resnet10t.yaml"
    scores = run("score", Request(config=config, overrides=overrides))
    cfg = load_config(config, overrides)
    exp = Experiment(cfg)
    y = exp.comp.targets[:, 0]
    cv = json.loads((exp.run_dir / "scores.json").read_text())["cv"]
    baseline = float(np.sqrt(((y - y.mean()) ** 2).mean()))  # predicting the mean
    print(
        f"tiny regression run: CV rmse {cv:.3f}, test rmse {scores['all']:.3f}, mean {baseline:.3f}"
    )
    assert cv < baseline and scores["all"] < baseline
    sub = read_submission(next((tmp_path / "subs").glob("digits_regression-*.csv")))
    assert list(sub.columns) == ["id", "value"]
    values = sub["value"].astype(float)
    assert values.between(y.min(), y.max()).all()  # clip: true in base.yaml
    oof = pd.read_parquet(exp.run_dir / "oof.parquet")
    assert list(oof.columns) == ["id", "fold", "target", "pred_value"]


def test_tiny_ensemble(tmp_path):
    """An mse and a bce member, their mean, the MSE blend and the XGBRegressor stack."""
    overrides = tiny(tmp_path)
    config = ROOT / "configs/digits_regression/ensemble.yaml"
    scores = run("score", Request(config=config, overrides=overrides))
    assert scores["all"] < 2.87  # below predicting the mean
    ensemble = load_config(config, overrides).run_dir
    candidates = json.loads((ensemble / "scores.json").read_text())["candidates"]
    assert candidates["stack"]["kind"] == "stack"
    names = set(candidates)
    assert {"resnet10t", "resnet10t_bce", "pixels_svr", "mean", "blend", "stack"} <= names
    # the quality benchmark's regression table reads the same run (exit 1 only if it loses)
    bench = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "quality.py"), "-c", str(config), *overrides],
        capture_output=True,
        text=True,
    )
    assert bench.returncode in (0, 1), bench.stderr
    assert "SVR(gamma=0.001, C=10), raw pixels" in bench.stdout, bench.stdout
    assert "nested selection" in bench.stdout and "pixels_svr (member)" in bench.stdout
