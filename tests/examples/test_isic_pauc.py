"""examples/metrics/isic_pauc.py (ISIC 2024's partial AUC above 80% TPR, Kaggle's form)
against a direct computation: the ROC curve, built with numpy, integrated above the TPR line."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

FILE = Path(__file__).resolve().parents[2] / "examples" / "metrics" / "isic_pauc.py"


def _load():
    spec = importlib.util.spec_from_file_location("isic_pauc_example", FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.score


score = _load()


def kaggle(y, p, min_tpr=0.80, order=None):
    ids = np.array([f"ISIC_{i:07d}" for i in range(len(y))])
    solution = pd.DataFrame({"isic_id": ids, "target": y})
    submission = pd.DataFrame({"isic_id": ids, "target": p})
    if order is not None:  # rows matched by id, not by position
        submission = submission.iloc[order].reset_index(drop=True)
    return score(solution, submission, "isic_id", min_tpr=min_tpr)


def roc_points(y, p):
    """The ROC curve's vertices: one per distinct score (ties make one diagonal step)."""
    order = np.argsort(-p, kind="stable")
    y, p = y[order], p[order]
    last = np.r_[np.flatnonzero(np.diff(p) != 0), len(p) - 1]  # last row of each score
    tp = np.cumsum(y)[last]
    fp = np.cumsum(1 - y)[last]
    return np.r_[0.0, fp / fp[-1]], np.r_[0.0, tp / tp[-1]]


def area_above(fpr, tpr, line):
    """Integral over FPR of max(TPR - line, 0) along the piecewise linear curve."""
    total = 0.0
    for f0, f1, t0, t1 in zip(fpr[:-1], fpr[1:], tpr[:-1], tpr[1:], strict=True):
        a, b = t0 - line, t1 - line
        width = f1 - f0
        if a >= 0 and b >= 0:
            total += width * (a + b) / 2
        elif a > 0 or b > 0:  # crosses the line: only the part above it
            hi = max(a, b)
            total += width * hi / (hi - min(a, b)) * hi / 2
    return total


def direct(y, p, min_tpr=0.80):
    return area_above(*roc_points(np.asarray(y), np.asarray(p, float)), min_tpr)


@pytest.mark.parametrize("seed", range(6))
def test_matches_the_area_above_the_tpr_line(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(50, 400))
    y = (rng.random(n) < rng.uniform(0.1, 0.6)).astype(int)
    p = rng.random(n) + y * rng.uniform(0, 1.5)  # some signal, different per seed
    if seed % 2:  # ties: scores rounded to a few levels
        p = np.round(p, 1)
    for min_tpr in (0.8, 0.5):
        assert kaggle(y, p, min_tpr) == pytest.approx(direct(y, p, min_tpr), abs=1e-12)


def test_hand_cases():
    y = np.array([0, 0, 0, 1, 1, 1, 0, 1])
    perfect = y * 0.9 + 0.05
    assert kaggle(y, perfect) == pytest.approx(0.2)
    assert kaggle(y, 1 - perfect) == pytest.approx(0.0)  # every negative ranked first
    assert kaggle(y, np.full(len(y), 0.5)) == pytest.approx(0.02)  # all tied: the diagonal
    rng = np.random.default_rng(0)
    y = (rng.random(20000) < 0.3).astype(int)
    assert kaggle(y, rng.random(len(y))) == pytest.approx(0.02, abs=0.003)  # random ranking


def test_rows_are_matched_by_id():
    rng = np.random.default_rng(1)
    y = (rng.random(200) < 0.4).astype(int)
    p = rng.random(200) + y
    shuffled = rng.permutation(200)
    assert kaggle(y, p, order=shuffled) == pytest.approx(kaggle(y, p))
