"""`benchmarks/quality_regression.py`'s references: fitted fold by fold on the demo's rows and
values (the pixels matched to train.csv's ids), ordered as a user would expect, and a train.csv
that is not the regression demo's refused."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from sklearn.datasets import load_digits

from podium.stages.demo_data import regression_values

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "quality_regression.py"


@pytest.fixture(scope="module")
def bench():
    if str(SCRIPT.parent) not in sys.path:  # as when run: its sibling modules (verdict.py)
        sys.path.insert(0, str(SCRIPT.parent))
    spec = importlib.util.spec_from_file_location("quality_regression_benchmark", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def demo_like(rows: np.ndarray, values: np.ndarray) -> SimpleNamespace:
    """What demo_pixels reads of a Competition: the train ids and the (N, 1) targets."""
    ids = np.array([f"img_{i:04d}" for i in rows])
    return SimpleNamespace(train_ids=ids, targets=values.reshape(-1, 1))


def test_references_on_the_demo_rows(bench):
    rows = np.arange(0, 1797, 3)  # 599 rows: a few seconds for the SVR
    values = regression_values(load_digits().target)[rows].astype(float)
    x, y = bench.demo_pixels(demo_like(rows, values))
    assert x.shape == (len(rows), 64) and x.max() == 16
    fold = np.arange(len(y)) % 3
    scores = {
        name: bench.reference_on_demo_folds(x, y, fold, build)
        for name, build in bench.REFERENCES.items()
    }
    mean, ridge, svr = (scores[n] for n in bench.REFERENCES)
    assert 2.5 < mean["rmse"] < 3.2 and abs(mean["r2"]) < 0.02  # the value's spread, R² ~ 0
    assert svr["rmse"] < ridge["rmse"] < mean["rmse"]  # the pixels carry the digit
    assert svr["mae"] < svr["rmse"] and svr["r2"] > 0.8  # 400 rows per fit: RMSE ~1.1


def test_a_train_csv_that_is_not_the_demo_is_refused(bench):
    rows = np.arange(20)
    with pytest.raises(SystemExit, match="does not match the digits' values"):
        bench.demo_pixels(demo_like(rows, np.zeros(20)))
