"""Choosing the best of several candidates on the same OOF rows flatters the winner. The
nested-selection CV predicts fold k with the candidate that is best on the other folds, so
the choice itself never sees fold k's labels."""

from __future__ import annotations

import numpy as np

from factories import toy_config, write_competition
from podium.competition import Competition
from podium.ensemble.candidates import choose, nested_selection
from podium.ensemble.inputs import Inputs
from podium.ensemble.report import Candidate
from podium.scoring import score_predictions


def one_hot_guess(y: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Confident probabilities, right where `right` is True, the other class elsewhere."""
    guess = np.where(right, y, 1 - y)
    return np.where(np.eye(2)[guess] == 1, 0.9, 0.1)


def test_fold_k_is_predicted_by_the_candidate_best_on_the_other_folds(tmp_path):
    labels = ["a", "b"] * 15
    write_competition(tmp_path, labels)
    comp = Competition.from_config(toy_config(tmp_path))
    y = comp.targets
    fold = np.repeat([0, 1, 2], 10)
    # `lucky` is perfect on fold 0 and poor elsewhere; `steady` is right on 8 rows in 10
    lucky_right = np.r_[np.ones(10, bool), np.arange(20) % 10 < 6]
    steady_right = np.arange(30) % 10 < 8
    cands = [
        Candidate("lucky", "member", one_hot_guess(y, lucky_right), np.zeros((4, 2)), None),
        Candidate("steady", "member", one_hot_guess(y, steady_right), np.zeros((4, 2)), None),
    ]
    inputs = Inputs(comp, [], y, fold, "hash")
    nested = nested_selection(inputs, cands)

    # fold 0 is chosen on folds 1-2, where steady (16 right) beats lucky (12): lucky's perfect
    # fold 0 cannot choose itself
    assert nested.picked_by_fold[0] == "steady"
    for k, name in nested.picked_by_fold.items():
        others = fold != k
        right = {c.name: (c.oof[others].argmax(1) == y[others]).sum() for c in cands}
        assert right[name] == max(right.values())
    chosen = {c.name: c for c in cands}
    expected = np.concatenate([chosen[nested.picked_by_fold[k]].oof[fold == k] for k in range(3)])
    assert nested.score == np.mean(expected.argmax(1) == y)


def test_the_per_fold_choice_uses_the_decided_cv_honest_metric(tmp_path):
    """Ordinal: `squashed` ranks the rows well on a compressed scale (rounding it to grades
    is poor, cut-points fitted on it are good); `rounds` sits on the grade scale with more
    noise (rounding is fine, cut-points gain little). The real choice scores
    cut-points fitted CV-honestly and prefers `squashed`; so must every per-fold choice,
    where the plain (rounded) QWK of the other folds would pick `rounds`."""
    grades = np.arange(200) % 5
    write_competition(tmp_path, [str(g) for g in grades])
    comp = Competition.from_config(toy_config(tmp_path, task="ordinal"))
    y, fold = comp.targets, np.arange(200) % 4
    rng = np.random.default_rng(0)
    rounds = (y[:, 0] + rng.normal(0, 0.6, 200))[:, None]
    squashed = (0.8 + 0.6 * y[:, 0] + rng.normal(0, 0.05, 200))[:, None]
    task = comp.task
    cands = [
        Candidate(name, "member", oof, np.zeros((4, 1)), score_predictions(task, y, oof, fold))
        for name, oof in (("rounds", rounds), ("squashed", squashed))
    ]
    assert choose(cands, "best", True, None).name == "squashed"  # the real choice
    for k in range(4):  # the plain criterion on the other folds disagrees
        others = fold != k
        plain = {c.name: task.metric(y[others], c.oof[others]) for c in cands}
        assert plain["rounds"] > plain["squashed"] + 0.02

    nested = nested_selection(Inputs(comp, [], y, fold, "hash"), cands)

    assert set(nested.picked_by_fold.values()) == {"squashed"}
    assert nested.score == score_predictions(task, y, squashed, fold).score
