"""podium.records reads scores.json in the layout the stages write (podium.metrics.ScoreBlock):
the validation loss under its own name, a fitted decision, and an older layout read as
missing rather than as wrong numbers."""

from __future__ import annotations

from podium.metrics import DecisionSummary, FoldScore, ScoreBlock, scores_header
from podium.records import scores_from_json


def _scores(decision: DecisionSummary | None = None) -> dict:
    final = ScoreBlock(
        "f2_samples",
        0.8,
        0.3,
        {0: FoldScore(0.78, 0.31), 1: FoldScore(0.82, 0.29)},
        decision,
        {"auc": 0.9},
    )
    return {**scores_header(final, True, "log_loss"), "final": final.to_json()}


def test_valid_loss_decision_and_secondary_metrics_reach_the_tracker_numbers():
    decision = DecisionSummary("thresholds", [0.3], {0: [0.3], 1: [0.35]}, 0.8, {0: 0.78}, 0.83)
    scores = scores_from_json(_scores(decision))
    assert scores.final is not None and scores.final.decision == decision
    assert scores.valid_loss_name == "log_loss"
    numbers = scores.metrics()
    assert numbers["cv_log_loss"] == 0.3
    assert numbers["fold1_f2_samples"] == 0.82
    assert numbers["cv_auc"] == 0.9
    assert numbers["thresholds_fit_f2_samples"] == 0.83  # the in-sample fit, named apart


def test_a_block_in_the_old_layout_reads_as_missing_not_as_numbers():
    old = {"metric": "accuracy", "cv": 0.9, "log_loss": 0.2, "final": {"accuracy": 0.9}}
    scores = scores_from_json(old)
    assert scores.cv == 0.9 and scores.final is None
    assert scores.metrics() == {"cv_accuracy": 0.9}
