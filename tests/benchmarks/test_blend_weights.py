"""`benchmarks/blend_weights.py`'s measurement parts: the cross-fitted oracle never blends a
test half with weights fitted on its own labels, and the paired bootstrap gain is centred on
the observed difference (the CNN training it drives is the benchmark's, not a test's)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from podium.tasks.blending import fit_simplex_weights, weighted
from podium.tasks.capabilities import Blend

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "blend_weights.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("blend_weights_benchmark", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def mse(y: np.ndarray, pred: np.ndarray) -> float:
    return float(np.mean((y - pred) ** 2))


SIMPLEX = Blend(lambda p, y: fit_simplex_weights(p, y, mse), weighted, "weights")


def test_the_cross_fitted_oracle_never_reads_a_half_own_labels(bench):
    rng = np.random.default_rng(0)
    y = rng.normal(size=(200, 1))
    tests = [y + rng.normal(0, 0.5, (200, 1)), y + rng.normal(0, 1.0, (200, 1))]
    half = np.arange(200) % 2 == 0
    before = bench.cross_fitted_oracle(SIMPLEX, tests, y, half)
    moved = np.where(half[:, None], -y, y)  # only the Public half's labels change
    after = bench.cross_fitted_oracle(SIMPLEX, tests, moved, half)
    np.testing.assert_allclose(before[half], after[half])  # blended with the Private weights
    assert not np.allclose(before[~half], after[~half])


def test_the_bootstrap_gain_is_centred_on_the_observed_difference(bench):
    rng = np.random.default_rng(1)
    y = rng.normal(size=(400, 1))
    good, poor = y + rng.normal(0, 0.3, (400, 1)), y + rng.normal(0, 0.6, (400, 1))
    score = bench.Scorer("mse", mse, greater=False)
    observed = mse(y, poor) - mse(y, good)
    mean, low, high = bench.bootstrap_gain(score, y, good, poor, 300, seed=0)
    assert low < observed < high and low > 0
    assert abs(mean - observed) < 0.1 * observed
