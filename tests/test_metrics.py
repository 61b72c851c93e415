"""The metric registry: every metric scores integer targets against probabilities, knows
its direction, and matches scikit-learn (or a hand computation)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from podium.metrics.classification import CLASSIFICATION as METRICS


def get_metric(name: str):
    return METRICS[name]


Y = np.array([0, 1, 2, 2, 1, 0])
P = np.array(
    [
        [0.7, 0.2, 0.1],
        [0.1, 0.6, 0.3],
        [0.2, 0.2, 0.6],
        [0.5, 0.1, 0.4],  # wrong
        [0.3, 0.4, 0.3],
        [0.4, 0.5, 0.1],  # wrong
    ]
)


def test_accuracy_and_friends_match_sklearn():
    pred = P.argmax(1)
    assert get_metric("accuracy")(Y, P) == pytest.approx(4 / 6)
    assert get_metric("balanced_accuracy")(Y, P) == pytest.approx(
        skm.balanced_accuracy_score(Y, pred)
    )
    assert get_metric("f1_macro")(Y, P) == pytest.approx(skm.f1_score(Y, pred, average="macro"))
    assert get_metric("mcc")(Y, P) == pytest.approx(skm.matthews_corrcoef(Y, pred))
    assert get_metric("qwk")(Y, P) == pytest.approx(
        skm.cohen_kappa_score(Y, pred, weights="quadratic")
    )


def test_log_loss_by_hand():
    expected = -np.mean(np.log([0.7, 0.6, 0.6, 0.4, 0.4, 0.4]))
    assert get_metric("log_loss")(Y, P) == pytest.approx(expected)
    assert get_metric("log_loss")(Y, P) == pytest.approx(skm.log_loss(Y, P))
    # a zero probability on the truth is clipped, not infinite
    assert np.isfinite(get_metric("log_loss")(np.array([0]), np.array([[0.0, 1.0]])))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_log_loss_clips_exact_zeros_and_ones_as_scikit_learn(dtype):
    """Exact 0 and 1 (a confidently wrong row, a certain right one): the same number as
    scikit-learn's log_loss on the float64 values a submission CSV is read as."""
    y = np.array([0, 1, 2, 0])
    p = np.array([[0.0, 1.0, 0.0], [0.0, 1.0, 0.0], [0.2, 0.3, 0.5], [1.0, 0.0, 0.0]])
    ours = get_metric("log_loss")(y, p.astype(dtype))
    assert ours == skm.log_loss(y, p.astype(dtype).astype(np.float64), labels=[0, 1, 2])
    assert ours == pytest.approx((-np.log(np.finfo(np.float64).eps) - np.log(0.5)) / 4)


def test_per_row_terms_average_to_the_metric_where_declared():
    declared = [m for m in METRICS.values() if m.per_row is not None]
    assert {m.name for m in declared} == {"accuracy", "log_loss"}
    for m in declared:
        assert np.mean(m.per_row(Y, P)) == pytest.approx(m(Y, P))


def test_auc_binary_and_multiclass():
    yb = np.array([0, 1, 1, 0])
    pb = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.7, 0.3]])
    assert get_metric("auc")(yb, pb) == pytest.approx(skm.roc_auc_score(yb, pb[:, 1]))
    assert get_metric("auc")(Y, P) == pytest.approx(skm.roc_auc_score(Y, P, multi_class="ovr"))


def test_directions():
    acc, ll = get_metric("accuracy"), get_metric("log_loss")
    assert acc.greater_is_better and not ll.greater_is_better
    assert ll.needs_probabilities and not acc.needs_probabilities
    assert acc.better(0.9, 0.8) and not acc.better(0.8, 0.8) and acc.better(0.1, None)
    assert ll.better(0.1, 0.2) and not ll.better(0.3, 0.2)
    assert acc.worst == -np.inf and ll.worst == np.inf


def test_every_metric_scores_a_perfect_prediction_best():
    onehot = np.eye(3)[Y]
    for metric in METRICS.values():
        perfect, imperfect = metric(Y, onehot), metric(Y, P)
        assert metric.better(perfect, imperfect) or perfect == imperfect, metric.name


def test_unknown_metric_lists_the_known():
    from podium.config import CompetitionConfig
    from podium.errors import ConfigError
    from podium.tasks import metric_of

    with pytest.raises(ConfigError, match="unknown metric 'acc'.*'accuracy'"):
        metric_of(CompetitionConfig(name="x", metric="acc"))
