"""QWK cut-points: applied as documented, fitted sorted and never worse than rounding on the
fitting rows, and CV-honest (fold k's cuts never see fold k)."""

from __future__ import annotations

import numpy as np
import pytest

from podium.metrics.ordinal import apply_cutpoints, midpoint_cuts, quadratic_weighted_kappa
from podium.tasks.decisions import Cutpoints, fit_cutpoints

GRADES = list(range(5))


def fit_cutpoints_cv(y, x, fold, grades):
    """The decision over (N, 1) columns, as the ordinal task fits it."""
    return Cutpoints(np.asarray(grades)).fit_cv(y[:, None], x[:, None], fold)


def aptos_like(seed: int, n: int = 400):
    """Imbalanced grades and a biased, noisy expected grade (rounding is not QWK-best)."""
    rng = np.random.default_rng(seed)
    y = rng.choice(5, size=n, p=[0.49, 0.1, 0.27, 0.05, 0.09])
    x = y + rng.normal(0, 0.8, n) - 0.4 * (y == 4) + 0.3 * (y == 1)
    return y, x


def test_apply_cutpoints_clips_and_sends_a_tie_up():
    cuts = midpoint_cuts(GRADES)
    assert cuts.tolist() == [0.5, 1.5, 2.5, 3.5]
    x = np.array([-3.0, 0.49, 0.5, 1.2, 3.49, 3.5, 9.0])
    assert apply_cutpoints(x, cuts).tolist() == [0, 0, 1, 1, 3, 4, 4]
    assert apply_cutpoints(x, cuts + 1, [1, 2, 3, 4, 5]).tolist() == [1, 1, 1, 1, 3, 4, 5]
    with pytest.raises(ValueError, match="4 cut-points need 5 grades, got 3"):
        apply_cutpoints(x, cuts, [0, 1, 2])


@pytest.mark.parametrize("seed", range(6))
def test_fitted_cuts_are_sorted_and_never_worse_than_rounding(seed):
    y, x = aptos_like(seed)
    cuts = fit_cutpoints(y, x, GRADES)
    assert np.all(np.diff(cuts) > 0)
    fitted = quadratic_weighted_kappa(y, apply_cutpoints(x, cuts), GRADES)
    rounded = quadratic_weighted_kappa(y, apply_cutpoints(x, midpoint_cuts(GRADES)), GRADES)
    assert fitted >= rounded
    assert np.array_equal(cuts, fit_cutpoints(y, x, GRADES))  # deterministic


def test_fitting_gains_on_biased_predictions():
    y, x = aptos_like(0, n=2000)
    fit = fit_cutpoints_cv(y, x, np.arange(len(y)) % 5, GRADES)
    rounded = quadratic_weighted_kappa(y, apply_cutpoints(x, midpoint_cuts(GRADES)), GRADES)
    assert fit.summary.fit_score > rounded + 0.005
    assert fit.summary.cv_score > rounded  # the gain holds on rows the cuts never saw


def test_perfect_rounding_is_kept():
    y = np.repeat(np.arange(5), 10)
    x = y + np.tile(np.linspace(-0.3, 0.3, 10), 5)
    assert quadratic_weighted_kappa(y, apply_cutpoints(x, fit_cutpoints(y, x, GRADES)), GRADES) == 1


def test_cv_cuts_ignore_their_own_fold():
    y, x = aptos_like(1, n=300)
    fold = np.arange(300) % 3
    fit = fit_cutpoints_cv(y, x, fold, GRADES)
    s = fit.summary
    assert s.params == fit_cutpoints(y, x, GRADES).tolist()
    grades = fit.decided_oof[:, 0].astype(int)
    for k in range(3):
        rows = fold == k
        assert np.array_equal(grades[rows], apply_cutpoints(x[rows], s.fold_params[k]))
        changed_y, changed_x = y.copy(), x.copy()
        changed_y[rows] = 4 - changed_y[rows]
        changed_x[rows] = -changed_x[rows]
        other = fit_cutpoints_cv(changed_y, changed_x, fold, GRADES).summary
        assert other.fold_params[k] == s.fold_params[k]
        assert other.params != s.params
    assert s.cv_score == pytest.approx(quadratic_weighted_kappa(y, grades, GRADES))
    assert set(s.to_json()["fold_params"]) == {"0", "1", "2"}


def test_bad_grades_are_named():
    with pytest.raises(ValueError, match=r"target grade 7 \(row 1\) is not one of the grades"):
        fit_cutpoints(np.array([0, 7]), np.array([0.0, 1.0]), GRADES)
    with pytest.raises(ValueError, match="at least two increasing values"):
        midpoint_cuts([2, 1])
    with pytest.raises(ValueError, match="at least 2 folds"):
        fit_cutpoints_cv(np.array([0, 1]), np.array([0.0, 1.0]), np.zeros(2), GRADES)
