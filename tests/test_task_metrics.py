"""Metrics of the multilabel, regression and ordinal tasks match scikit-learn (or scipy) on
random data; undefined cases have the documented values; thresholds fitted for F-type
metrics are the best candidates and CV-honest; `best` checkpoint selection breaks ties by
validation loss; `metrics.qwk` counts every class."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from scipy import stats
from sklearn import metrics as skm

from podium.engine.selection import is_improvement
from podium.metrics.classification import CLASSIFICATION
from podium.metrics.fbeta import GRID, fbeta, fit_thresholds
from podium.metrics.multilabel import MULTILABEL, per_label_auc
from podium.metrics.ordinal import quadratic_weighted_kappa, qwk_metric
from podium.metrics.values import REGRESSION
from podium.tasks.decisions import Thresholds

MULTILABEL_METRICS, REGRESSION_METRICS = MULTILABEL, REGRESSION
TASK_METRICS = {
    "multilabel": MULTILABEL,
    "regression": REGRESSION,
    "ordinal": {"qwk": qwk_metric()},
}

TOL = 1e-9


def multilabel_data(seed: int = 0, n: int = 120, labels: int = 5):
    """Targets with some rows and one label empty, probabilities that partly follow them."""
    rng = np.random.default_rng(seed)
    y = (rng.random((n, labels)) < np.linspace(0.1, 0.5, labels)).astype(int)
    y[:7] = 0  # rows without tags (allowed for multilabel)
    p = np.clip(0.35 * y + 0.65 * rng.random((n, labels)), 0.001, 0.999)
    return y, p


# --- metrics.qwk (the fix) ---------------------------------------------------------------------


def test_qwk_counts_a_grade_absent_from_targets_and_predictions():
    y = np.array([0, 1, 1, 3, 3, 4, 4, 4])
    pred = np.array([0, 1, 3, 1, 3, 4, 4, 3])
    proba = np.eye(5)[pred]  # grade 2 appears in neither
    assert CLASSIFICATION["qwk"](y, proba) == pytest.approx(0.7352941176470589, abs=1e-12)
    assert quadratic_weighted_kappa(y, pred, range(5)) == pytest.approx(0.7352941176470589)
    # the value it gave when the absent grade's distances were dropped
    assert skm.cohen_kappa_score(y, pred, weights="quadratic") == pytest.approx(0.8181818181818)


# --- multilabel --------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_multilabel_scores_match_sklearn(seed):
    y, p = multilabel_data(seed)
    m = MULTILABEL_METRICS
    assert m["auc"](y, p) == pytest.approx(skm.roc_auc_score(y, p, average="macro"), abs=TOL)
    assert m["average_precision"](y, p) == pytest.approx(
        skm.average_precision_score(y, p, average="macro"), abs=TOL
    )
    assert m["log_loss"](y, p) == pytest.approx(skm.log_loss(y.ravel(), p.ravel()), abs=TOL)
    certain = np.where(np.arange(p.size).reshape(p.shape) % 3 == 0, y, 1 - y).astype(float)
    # exact 0 and 1, right and wrong: clipped as scikit-learn clips (float64 eps)
    assert m["log_loss"](y, certain) == pytest.approx(
        skm.log_loss(y.ravel(), certain.ravel()), rel=1e-12
    )
    per_label = np.array([0.3, 0.4, 0.5, 0.6, 0.7])
    for beta in (1, 2):
        for average in ("micro", "macro", "samples"):
            for threshold in (0.5, 0.62, per_label):
                expected = skm.fbeta_score(
                    y, p >= threshold, beta=beta, average=average, zero_division=1.0
                )
                got = fbeta(y, p, beta, threshold, average)
                assert got == pytest.approx(expected, abs=TOL)
            # the registry's F fits the best global threshold of the rows it scores
            best = max(fbeta(y, p, beta, t, average) for t in GRID)
            assert m[f"f{beta}_{average}"](y, p) == pytest.approx(best, abs=TOL)


def test_multilabel_f_scores_an_empty_row_or_label_predicted_empty_as_perfect():
    y = np.array([[0, 0], [1, 0], [0, 0]])
    p = np.array([[0.1, 0.2], [0.9, 0.1], [0.2, 0.3]])
    # the row and the label without tags are predicted without tags: 1.0 each
    assert MULTILABEL_METRICS["f1_samples"](y, p) == 1.0
    assert MULTILABEL_METRICS["f1_macro"](y, p) == 1.0
    # predicting a tag the row lacks scores that row 0
    assert fbeta(y, p, 1.0, 0.15, "samples") == pytest.approx(
        skm.fbeta_score(y, p >= 0.15, beta=1, average="samples", zero_division=1.0)
    )


def test_per_row_terms_average_to_the_task_metric_where_declared():
    y, p = multilabel_data(3)
    rng = np.random.default_rng(3)
    yr, pr = rng.normal(size=(50, 3)), rng.normal(size=(50, 3))
    declared = 0
    for task, registry in TASK_METRICS.items():
        for metric in registry.values():
            if metric.per_row is None:
                continue
            declared += 1
            yy, pp = (y, p) if task == "multilabel" else (yr, pr)
            assert np.mean(metric.per_row(yy, pp)) == pytest.approx(metric(yy, pp), abs=TOL)
    assert declared == 2  # multilabel log_loss, mae


def test_mean_column_auc_skips_a_single_class_column_and_says_so(caplog):
    y, p = multilabel_data(4)
    y[:, 2] = 0
    with caplog.at_level(logging.WARNING, logger="podium.metrics.multilabel"):
        score = MULTILABEL_METRICS["auc"](y, p)
    keep = [0, 1, 3, 4]
    assert score == pytest.approx(skm.roc_auc_score(y[:, keep], p[:, keep]), abs=TOL)
    assert "skipped label columns [2]" in caplog.text
    assert np.isnan(per_label_auc(y, p)[2])
    assert np.isnan(MULTILABEL_METRICS["auc"](np.zeros((4, 2)), np.full((4, 2), 0.5)))


def test_average_precision_skips_a_label_without_positives():
    y, p = multilabel_data(5)
    y[:, 1] = 0
    keep = [0, 2, 3, 4]
    assert MULTILABEL_METRICS["average_precision"](y, p) == pytest.approx(
        skm.average_precision_score(y[:, keep], p[:, keep]), abs=TOL
    )


# --- regression --------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(80,), (80, 3)])
def test_regression_scores_match_sklearn_and_scipy(shape):
    rng = np.random.default_rng(7)
    y = rng.normal(size=shape)
    p = y + rng.normal(scale=0.7, size=shape)
    p[:5] = np.round(p[:5])  # some ties for the ranks
    m = REGRESSION_METRICS
    assert m["rmse"](y, p) == pytest.approx(skm.root_mean_squared_error(y, p), abs=TOL)
    assert m["mae"](y, p) == pytest.approx(skm.mean_absolute_error(y, p), abs=TOL)
    assert m["r2"](y, p) == pytest.approx(skm.r2_score(y, p), abs=TOL)
    y2, p2 = y.reshape(len(y), -1), p.reshape(len(p), -1)
    cols = range(y2.shape[1])
    pearson = np.mean([stats.pearsonr(y2[:, j], p2[:, j])[0] for j in cols])
    spearman = np.mean([stats.spearmanr(y2[:, j], p2[:, j])[0] for j in cols])
    assert m["pearson"](y, p) == pytest.approx(pearson, abs=TOL)
    assert m["spearman"](y, p) == pytest.approx(spearman, abs=TOL)


def test_multi_target_rmse_is_the_mean_of_per_target_rmse():
    y = np.array([[0.0, 0.0], [0.0, 0.0]])
    p = np.array([[1.0, 3.0], [1.0, 3.0]])
    assert REGRESSION_METRICS["rmse"](y, p) == pytest.approx(2.0)


def test_a_constant_prediction_has_zero_correlation_not_nan():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    assert REGRESSION_METRICS["pearson"](y, np.full(4, 2.5)) == 0.0
    assert REGRESSION_METRICS["spearman"](y, np.full(4, 2.5)) == 0.0
    # per target: the constant target counts 0, the other its own correlation
    y2 = np.c_[y, y]
    p2 = np.c_[y, np.full(4, 2.5)]
    assert REGRESSION_METRICS["pearson"](y2, p2) == pytest.approx(0.5)


def test_regression_shapes_must_match():
    with pytest.raises(ValueError, match=r"targets have shape \(4,\) but predictions \(4, 1\)"):
        REGRESSION_METRICS["rmse"](np.zeros(4), np.zeros((4, 1)))


# --- ordinal -----------------------------------------------------------------------------------


@pytest.mark.parametrize("grades", [list(range(5)), [1, 2, 3, 4, 5, 6]])
def test_qwk_matches_sklearn_with_every_grade(grades):
    rng = np.random.default_rng(11)
    for _ in range(5):
        y = rng.choice(grades, size=60)
        pred = np.clip(y + rng.integers(-2, 3, size=60), grades[0], grades[-1])
        expected = skm.cohen_kappa_score(y, pred, labels=grades, weights="quadratic")
        got = quadratic_weighted_kappa(y, pred, grades)
        assert got == pytest.approx(expected, abs=TOL)
        assert qwk_metric(np.asarray(grades))(y, pred) == pytest.approx(expected, abs=TOL)


def test_qwk_undefined_is_zero_and_unknown_grades_are_named():
    same = np.array([2, 2, 2])
    assert quadratic_weighted_kappa(same, same, range(5)) == 0.0
    # (scikit-learn >= 1.6 gives the same with replace_undefined_by=0.0; older, nan)
    with pytest.raises(ValueError, match=r"predicted grade 7 \(row 1\) is not one of the grades"):
        quadratic_weighted_kappa(np.array([0, 1]), np.array([0, 7]), range(5))


# --- registry ----------------------------------------------------------------------------------


def test_registry_directions_and_needs():
    assert {n for n, m in MULTILABEL.items() if m.needs == "decisions"} == {
        f"f{b:g}_{a}" for b in (0.5, 1, 2) for a in ("micro", "macro", "samples")
    }
    assert all(m.needs == "values" for m in REGRESSION.values())
    assert qwk_metric().needs == "decisions"
    lower = {
        (t, n) for t, r in TASK_METRICS.items() for n, m in r.items() if not m.greater_is_better
    }
    assert lower == {("multilabel", "log_loss"), ("regression", "rmse"), ("regression", "mae")}
    assert REGRESSION["rmse"].better(0.1, 0.2)


# --- thresholds --------------------------------------------------------------------------------


def _unique_candidates(p: np.ndarray) -> np.ndarray:
    u = np.unique(p)
    return np.r_[u[0] / 2, (u[:-1] + u[1:]) / 2, (u[-1] + 1) / 2]


@pytest.mark.parametrize("average", ["micro", "macro", "samples"])
@pytest.mark.parametrize("beta", [1.0, 2.0])
def test_global_threshold_is_the_best_candidate(average, beta):
    y, p = multilabel_data(6, n=60, labels=4)
    for candidates, pool in (("grid", GRID), ("unique", _unique_candidates(p))):
        t = fit_thresholds(y, p, beta=beta, average=average, candidates=candidates)
        assert np.all(t == t[0])
        best = max(
            skm.fbeta_score(y, p >= c, beta=beta, average=average, zero_division=1.0) for c in pool
        )
        got = skm.fbeta_score(y, p >= t, beta=beta, average=average, zero_division=1.0)
        assert got == pytest.approx(best, abs=TOL)


def test_per_label_thresholds_for_macro_are_each_labels_best():
    y, p = multilabel_data(8, n=80, labels=4)
    t = fit_thresholds(y, p, beta=2.0, average="macro", per_label=True)
    for j in range(4):
        best = max(skm.fbeta_score(y[:, j], p[:, j] >= c, beta=2.0) for c in GRID)
        assert skm.fbeta_score(y[:, j], p[:, j] >= t[j], beta=2.0) == pytest.approx(best, abs=TOL)


@pytest.mark.parametrize("average", ["micro", "samples"])
def test_per_label_thresholds_beat_global_and_no_single_label_move_improves(average):
    y, p = multilabel_data(9, n=70, labels=4)
    glob = fit_thresholds(y, p, average=average)
    t = fit_thresholds(y, p, average=average, per_label=True)
    score = fbeta(y, p, 1.0, t, average)
    assert score >= fbeta(y, p, 1.0, glob, average) - TOL
    for j in range(4):
        for c in GRID:
            moved = t.copy()
            moved[j] = c
            assert fbeta(y, p, 1.0, moved, average) <= score + TOL


def test_cv_thresholds_ignore_their_own_fold_and_are_deterministic():
    y, p = multilabel_data(10, n=90, labels=4)
    fold = np.arange(90) % 3
    decision = Thresholds(beta=2.0, average="samples", per_label=True, labels=list("abcd"))
    fit = decision.fit_cv(y, p, fold)
    again = decision.fit_cv(y, p, fold)
    assert fit.summary.fold_params == again.summary.fold_params
    every = fit_thresholds(y, p, beta=2.0, average="samples", per_label=True)
    assert fit.summary.params == every.tolist()
    for k in range(3):
        rows = fold == k
        thresholds = np.asarray(fit.summary.fold_params[k])
        assert np.array_equal(fit.decided_oof[rows], (p[rows] >= thresholds).astype(float))
        changed = y.copy()
        changed[rows] = 1 - changed[rows]  # fold k's labels do not move fold k's thresholds
        other = decision.fit_cv(changed, p, fold)
        assert other.summary.fold_params[k] == fit.summary.fold_params[k]
    assert fit.summary.cv_score == pytest.approx(fbeta(y, fit.decided_oof, 2.0, 0.5, "samples"))
    assert fit.summary.fit_score == pytest.approx(fbeta(y, p, 2.0, every, "samples"))
    summary = fit.summary.to_json()
    assert set(summary["fold_params"]) == {"0", "1", "2"}
    assert summary["kind"] == "thresholds" and summary["labels"] == list("abcd")


def test_threshold_inputs_are_checked():
    y, p = multilabel_data(0, n=10)
    with pytest.raises(ValueError, match="average='weighted'"):
        fit_thresholds(y, p, average="weighted")
    with pytest.raises(ValueError, match="at least 2 folds"):
        Thresholds(1.0, "micro", False, list("abcde")).fit_cv(y, p, np.zeros(10))


# --- best checkpoint selection -----------------------------------------------------------------


def test_best_checkpoint_breaks_metric_ties_by_validation_loss():
    # AUC saturated at 1.0: a later epoch ties it, and wins on a lower validation loss
    assert is_improvement(1.0, 0.20, 1.0, 0.35, greater_is_better=True)
    assert not is_improvement(1.0, 0.40, 1.0, 0.35, greater_is_better=True)
    assert not is_improvement(1.0, 0.35, 1.0, 0.35, greater_is_better=True)
    assert is_improvement(1.0 - 1e-13, 0.20, 1.0, 0.35, greater_is_better=True)  # a float tie
    # a strictly better score wins whatever the loss; a worse one never does
    assert is_improvement(0.91, 9.0, 0.90, 0.1, greater_is_better=True)
    assert not is_improvement(0.89, 0.0, 0.90, 0.1, greater_is_better=True)
    # lower-is-better metrics (rmse)
    assert is_improvement(1.5, 9.0, 1.6, 0.1, greater_is_better=False)
    assert is_improvement(1.6, 0.05, 1.6, 0.1, greater_is_better=False)
    assert not is_improvement(1.7, 0.0, 1.6, 0.1, greater_is_better=False)
    # no best yet (first epoch, or resumed from a checkpoint without a loss)
    assert is_improvement(0.5, 1.0, None, None, greater_is_better=True)
    assert is_improvement(0.5, 1.0, 0.5, None, greater_is_better=True)
    assert not is_improvement(float("nan"), 0.1, 0.5, 1.0, greater_is_better=True)
