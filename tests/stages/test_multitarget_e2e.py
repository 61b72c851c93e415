"""Multitarget end to end through the CLI at tiny scale (timm's test_resnet, 16 px, 2 folds,
1 epoch): the 2-D digits demo with two targets (parity, binary; the digit mod 3, with
missing labels) folds -> train -> oof -> infer -> submit -> score, the hidden-test score
recomputed by hand from the submission, and a plug-in metric in Kaggle's form; the series
demo with two targets per study through the same stages, export and `predict --bundle`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import log_loss

from podium.cli import main
from podium.config import load_config
from podium.series.demo import write_series_demo
from podium.stages.demo_data import write_demo

ROOT = Path(__file__).resolve().parents[2]
DIGITS = ROOT / "configs/digits_multitarget/resnet10t.yaml"
SERIES = ROOT / "configs/digits_series_multitarget/attention.yaml"
TINY = [
    "model.name=test_resnet",
    "folds.n_splits=2",
    "data.image_size=16",
    "train.epochs=1",
    "train.progress=false",
]
SERIES_TINY = [
    "data.slices.depth=8",
    "data.slices.sample=4",
    "train.batch_size=4",
    "infer.batch_size=4",
]
KAGGLE_METRIC = """
import numpy as np
from sklearn.metrics import log_loss

def score(solution, submission, row_id_column_name):
    parity = (solution["parity"] == "odd").astype(int)
    return float(log_loss(parity, submission["parity_odd"], labels=[0, 1]))
"""


def paths(tmp: Path) -> list[str]:
    return [
        f"paths.data={tmp / 'data'}",
        f"paths.runs={tmp / 'runs'}",
        f"paths.submissions={tmp / 'subs'}",
    ]


@pytest.fixture(scope="module")
def digits(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("mt")
    write_demo(tmp / "data", task="multitarget")
    return tmp


def hand_score(solution: pd.DataFrame, sub: pd.DataFrame) -> float:
    """RSNA's formula on the demo: per target the class-weighted log-loss, then the mean."""
    parity = (solution["parity"] == "odd").astype(int)
    p = sub[["parity_even", "parity_odd"]].to_numpy()
    a = log_loss(parity, p / p.sum(1, keepdims=True), sample_weight=np.array([1, 2])[parity])
    mod3 = solution["mod3"].astype(int)
    q = sub[["mod3_0", "mod3_1", "mod3_2"]].to_numpy()
    b = log_loss(mod3, q / q.sum(1, keepdims=True), sample_weight=np.array([1, 2, 4])[mod3])
    return (a + b) / 2


def test_digits_with_two_targets_end_to_end(digits, capsys):
    overrides = [*TINY, *paths(digits)]
    assert main(["score", "-c", str(DIGITS), *overrides]) == 0
    out = capsys.readouterr().out
    cfg = load_config(DIGITS, overrides)
    scores = json.loads((cfg.run_dir / "scores.json").read_text())
    assert scores["metric"] == "weighted_log_loss" and 0 < scores["cv"] < 1.5
    oof = pd.read_parquet(cfg.run_dir / "oof.parquet")
    assert [c for c in oof.columns if c.startswith(("parity", "mod3"))] == [
        "parity_even",
        "parity_odd",
        "mod3_0",
        "mod3_1",
        "mod3_2",
    ]
    assert (oof["target_mod3"] == "").any()  # missing labels kept as written
    data = digits / "data/digits_multitarget"
    sub = pd.read_csv(next((digits / "subs").glob("digits_multitarget-*.csv")))
    assert list(sub.columns) == list(pd.read_csv(data / "sample_submission.csv").columns)
    solution = pd.read_csv(data / "solution.csv", dtype={"mod3": str})
    expected = hand_score(solution, sub)
    assert f"weighted_log_loss  all {expected:.4f}" in out


def test_a_kaggle_form_plugin_metric_scores_the_multitarget_run(digits, tmp_path, capsys):
    metric = tmp_path / "parity_metric.py"
    metric.write_text(KAGGLE_METRIC)
    overrides = [
        *TINY,
        *paths(digits),
        "name=plugin",
        f"competition.metric={{function: {metric}:score, direction: minimize, needs: probabilities}}",
    ]
    assert main(["oof", "-c", str(DIGITS), *overrides]) == 0
    cfg = load_config(DIGITS, overrides)
    scores = json.loads((cfg.run_dir / "scores.json").read_text())
    oof = pd.read_parquet(cfg.run_dir / "oof.parquet")
    parity = (oof["target_parity"] == "odd").astype(int)
    assert scores["cv"] == pytest.approx(log_loss(parity, oof["parity_odd"]), abs=1e-6)


def test_a_series_with_two_targets_end_to_end_and_its_bundle(tmp_path, capsys):
    data = tmp_path / "data/digits_series_multitarget"
    write_series_demo(data, n_train=16, n_test=6, multitarget=True)
    train = pd.read_csv(data / "train.csv", dtype=str, keep_default_na=False)
    assert list(train.columns) == ["id", "patient_id", "finding", "bucket"]
    overrides = [*TINY, *SERIES_TINY, *paths(tmp_path)]
    assert main(["score", "-c", str(SERIES), *overrides]) == 0
    assert "weighted_log_loss  all" in capsys.readouterr().out
    cfg = load_config(SERIES, overrides)
    assert len(pd.read_parquet(cfg.run_dir / "oof.parquet")) == 16  # one row per study
    sub = pd.read_csv(next((tmp_path / "subs").glob("digits_series_multitarget-*.csv")))
    assert list(sub.columns) == ["id", "finding", "bucket_none", "bucket_low", "bucket_high"]
    np.testing.assert_allclose(sub[["bucket_none", "bucket_low", "bucket_high"]].sum(1), 1.0)
    bundle = tmp_path / "bundle"
    assert main(["export", "-c", str(SERIES), *overrides, "--out", str(bundle)]) == 0
    out = tmp_path / "predicted.csv"
    assert main(["predict", "--bundle", str(bundle), "--data", str(data), "--out", str(out)]) == 0
    predicted = pd.read_csv(out)
    assert predicted["id"].tolist() == sub["id"].tolist()
    np.testing.assert_allclose(predicted.iloc[:, 1:], sub.iloc[:, 1:], atol=1e-6)
