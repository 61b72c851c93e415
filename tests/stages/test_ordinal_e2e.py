"""The ordinal demo end to end at tiny scale: two CNN members (a regression head and an
expectation head, test_convnext, 1 epoch, 2 folds), the SVR member on the pixels, the
ensemble (mean, blend, XGBRegressor stack) graded by OOF cut-points, the submission in
integer grades and its local score, the quality benchmark's ordinal table; and lr-find on the
expectation head."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from factories import tiny_task_overrides
from podium.config import load_config
from podium.experiment import Experiment
from podium.pipeline import Request, run
from podium.stages import folds, lr_find
from podium.submission import read_submission

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "configs/digits_ordinal"


def tiny(tmp_path: Path) -> list[str]:
    return tiny_task_overrides(tmp_path, "ordinal")


def test_tiny_ordinal_ensemble_end_to_end(tmp_path):
    overrides = tiny(tmp_path)
    config = CONFIGS / "ensemble.yaml"
    scores = run("score", Request(config=config, overrides=overrides))
    assert scores["all"] > 0.6  # the SVR member alone scores about 0.9 (a grade's QWK)
    ensemble = load_config(config, overrides).run_dir
    result = json.loads((ensemble / "scores.json").read_text())
    assert {"resnet10t", "resnet10t_expectation", "pixels_svr", "mean", "blend", "stack"} <= set(
        result["candidates"]
    )
    cut = result["final"]["decision"]
    assert set(cut["fold_params"]) == {"0", "1"} and len(cut["params"]) == 4
    assert result["cv"] == cut["cv_score"]  # the CV is graded with cut-points without the fold
    sub = read_submission(next((tmp_path / "subs").glob("digits_ordinal-stack-*.csv")))
    assert list(sub.columns) == ["id", "grade"]
    grades = sub["grade"].astype(int)
    assert set(grades) <= {0, 1, 2, 3, 4} and (sub["grade"] == grades.astype(str)).all()
    test = pd.read_parquet(ensemble / "test.parquet")
    expected = np.searchsorted(cut["params"], test["pred_grade"].to_numpy(), side="right")
    np.testing.assert_array_equal(grades.to_numpy(), expected)  # cut at the all-rows points
    member = load_config(CONFIGS / "resnet10t_expectation.yaml", overrides).run_dir
    member_scores = json.loads((member / "scores.json").read_text())
    assert "decision" in member_scores["final"] and "identity" in member_scores["views"]
    assert list(pd.read_parquet(member / "oof.parquet").columns) == [
        "id",
        "fold",
        "target",
        "pred_grade",
    ]
    # the quality benchmark's ordinal table reads the same run (exit 1 only if the stack loses)
    bench = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "quality.py"), "-c", str(config), *overrides],
        capture_output=True,
        text=True,
    )
    assert bench.returncode in (0, 1), bench.stderr
    assert (
        "SVR(gamma=0.001, C=10), raw pixels" in bench.stdout and "nested selection" in bench.stdout
    )


def test_lr_find_on_the_expectation_head(tmp_path):
    overrides = tiny(tmp_path)
    cfg = load_config(CONFIGS / "resnet10t_expectation.yaml", overrides)
    folds.run(cfg)
    result = lr_find.run(Experiment(cfg), steps=10)
    assert np.isfinite(result.suggestion) and len(result.losses) > 0
