"""The paired comparison of the chosen ensemble against the best member."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from podium.config import CompetitionConfig
from podium.ensemble.significance import PairedComparison, _bootstrap, compare
from podium.metrics.classification import CLASSIFICATION
from podium.tasks.classification import Binary, Multiclass

THREE = Multiclass(CompetitionConfig(name="toy"), Path("synthetic"), ["0", "1", "2"])
TWO = Binary(
    CompetitionConfig(name="toy", task="binary", metric="auc"), Path("synthetic"), ["0", "1"]
)


def one_hot_ish(labels: np.ndarray, classes: int = 3, confidence: float = 0.8) -> np.ndarray:
    p = np.full((len(labels), classes), (1 - confidence) / (classes - 1))
    p[np.arange(len(labels)), labels] = confidence
    return p


def test_a_candidate_against_itself_gains_nothing():
    y = np.random.default_rng(0).integers(0, 3, 200)
    p = one_hot_ish(y)
    result = compare(THREE, y, p, p, n_boot=200)
    assert (result.fixed, result.broken, result.mcnemar_p) == (0, 0, 1.0)
    assert all(g.observed == g.low == g.high == 0 for g in result.gains.values())
    assert not any(g.significant for g in result.gains.values())


def test_a_clearly_better_candidate_is_significant_on_both_counts():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, 300)
    wrong = rng.random(300) < 0.3
    reference = one_hot_ish(np.where(wrong, (y + 1) % 3, y))
    result = compare(THREE, y, one_hot_ish(y), reference, n_boot=300)
    assert result.fixed == wrong.sum() and result.broken == 0 and result.mcnemar_p < 1e-6
    assert set(result.gains) == {"accuracy", "log_loss"}
    assert result.gains["accuracy"].observed == pytest.approx(wrong.mean())
    assert all(g.significant for g in result.gains.values())
    # the words follow the interval: clear of zero is beyond noise, whichever way it points
    assert "within noise" not in result.summary("blend", "member")
    assert result.summary("blend", "member").count("a gain beyond noise") == 2
    worse = compare(THREE, y, reference, one_hot_ish(y), n_boot=300).summary("blend", "member")
    assert "within noise" not in worse and worse.count("a loss beyond noise") == 2


def test_a_one_row_margin_is_reported_as_noise():
    y = np.arange(300) % 3
    reference = one_hot_ish(y)
    reference[[0, 1], :] = one_hot_ish((y[[0, 1]] + 1) % 3)  # two rows wrong
    challenger = one_hot_ish(y)
    challenger[2] = one_hot_ish((y[[2]] + 1) % 3)[0]  # one other row wrong
    result = compare(THREE, y, challenger, reference, n_boot=500)
    assert (result.fixed, result.broken) == (2, 1)
    assert result.gains["accuracy"].observed > 0 and not result.gains["accuracy"].significant
    assert "within noise" in result.summary("blend", "member")


def test_lower_is_better_metrics_are_signed_as_gains():
    y = np.random.default_rng(2).integers(0, 3, 200)
    sharp, soft = one_hot_ish(y, confidence=0.95), one_hot_ish(y, confidence=0.5)
    by_log_loss = Multiclass(
        CompetitionConfig(name="toy", metric="log_loss"), Path("synthetic"), ["0", "1", "2"]
    )
    result = compare(by_log_loss, y, sharp, soft, n_boot=200)
    assert set(result.gains) == {"log_loss"} and result.gains["log_loss"].significant


def test_auc_resamples_missing_a_class_are_skipped():
    y = np.zeros(60, dtype=int)
    y[:2] = 1  # a rare positive class: some resamples hold no positive row
    p = one_hot_ish(y, classes=2, confidence=0.7)
    result = compare(TWO, y, p, p, n_boot=300)
    gain = result.gains["auc"]
    assert gain.observed == 0 and np.isfinite([gain.low, gain.high]).all()


def test_the_comparison_round_trips_through_scores_json():
    y = np.arange(90) % 3
    result = compare(THREE, y, one_hot_ish(y, confidence=0.9), one_hot_ish(y), n_boot=100)
    assert PairedComparison.from_json(json.loads(json.dumps(result.to_json()))) == result


def test_the_per_row_fast_path_matches_rescoring_every_resample():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 3, 150)
    a, b = rng.dirichlet(np.ones(3), 150), rng.dirichlet(np.ones(3), 150)
    for name in ("accuracy", "log_loss"):
        fast = CLASSIFICATION[name]
        slow = dataclasses.replace(fast, per_row=None)
        np.testing.assert_allclose(
            _bootstrap(fast, y, a, b, 50, seed=0), _bootstrap(slow, y, a, b, 50, seed=0)
        )


def test_copies_of_a_row_are_one_unit_of_evidence_with_groups():
    """Four copies of every row: resampled as rows, a small gain looks four times as sure as
    it is; resampled by group (the rows a copy shares), the interval and the sign-flip test
    are those of the rows before copying."""
    rng = np.random.default_rng(3)
    y = rng.integers(0, 3, 150)
    reference = one_hot_ish(np.where(rng.random(150) < 0.85, y, (y + 1) % 3))
    challenger = one_hot_ish(np.where(rng.random(150) < 0.9, y, (y + 1) % 3))
    once = compare(THREE, y, challenger, reference, n_boot=2000)
    copies = np.tile(np.arange(150), 4)
    as_rows = compare(THREE, y[copies], challenger[copies], reference[copies], n_boot=2000)
    as_groups = compare(
        THREE, y[copies], challenger[copies], reference[copies], n_boot=2000, groups=copies
    )
    width = {
        name: r.gains["accuracy"].high - r.gains["accuracy"].low
        for name, r in (("once", once), ("rows", as_rows), ("groups", as_groups))
    }
    assert width["rows"] < 0.6 * width["once"]
    assert width["groups"] == pytest.approx(width["once"], rel=0.15)
    assert as_groups.groups == 150 and as_rows.groups is None
    assert as_groups.mcnemar_p == pytest.approx(once.mcnemar_p, abs=0.03)
    assert as_rows.mcnemar_p < once.mcnemar_p
    assert "sign-flip over 150 groups" in as_groups.summary("a", "b")
    assert PairedComparison.from_json(json.loads(json.dumps(as_groups.to_json()))) == as_groups


def test_the_sign_flip_test_is_mcnemar_with_one_row_a_group():
    from scipy.stats import binomtest

    from podium.ensemble.significance import sign_flip_p

    for fixed, broken in ((10, 0), (12, 5), (3, 3)):
        exact = binomtest(min(fixed, broken), fixed + broken, 0.5).pvalue
        assert sign_flip_p(np.array([1] * fixed + [-1] * broken + [0] * 7)) == pytest.approx(
            exact, abs=0.01
        )
    assert sign_flip_p(np.zeros(5)) == 1.0
