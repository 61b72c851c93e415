"""Choosing the best of several candidates on the same OOF rows flatters the winner. The
nested-selection CV predicts fold k with the candidate that is best on the other folds, so
the choice itself never sees fold k's labels."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from factories import toy_config, write_competition
from podium.competition import Competition
from podium.config.ensemble import EnsembleConfig
from podium.ensemble.candidates import build_candidates, choose
from podium.ensemble.inputs import Inputs
from podium.ensemble.members import Member
from podium.ensemble.nested import nested_selection
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


def regression_inputs(tmp_path, y: np.ndarray, fold: np.ndarray, preds: dict) -> Inputs:
    """Inputs of a toy regression with members of the given OOF values (test: 4 rows)."""
    write_competition(tmp_path, [f"{v:.6f}" for v in y])
    comp = Competition.from_config(toy_config(tmp_path, task="regression", metric="rmse"))
    members = [
        Member(name, Path(name), Path(name), p[:, None], np.zeros((4, 1)), [])
        for name, p in preds.items()
    ]
    return Inputs(comp, members, comp.targets, fold, "hash")


FAST = {"seeds": [0], "early_stopping_rounds": 5, "n_jobs": 1, "prior": "blend"}


def test_fold_k_labels_never_choose_fold_k_candidates_are_refitted_without_it(tmp_path):
    """`a` (noise 0.8) and `b` (noise 1.2) everywhere but fold 0, whose labels are `b`'s
    values: the best honest weighting of folds 1-3 is the blend (about 0.7 a), better than the
    mean. A blend whose weights for folds 1-3 are fitted with fold 0 leans to `b` (about 0.35
    a) and looks worse than the mean there, so a selection that reads those OOF rows picks the
    mean for fold 0: fold 0's labels chose fold 0's candidate. Refitted without fold 0, the
    blend is picked, whatever fold 0's labels say."""
    rng = np.random.default_rng(0)
    n = 1200
    fold = np.arange(n) % 4
    truth = rng.normal(0, 3, n)
    a, b = truth + rng.normal(0, 0.8, n), truth + rng.normal(0, 1.2, n)
    y = np.where(fold == 0, b, truth)
    inputs = regression_inputs(tmp_path, y, fold, {"a": a, "b": b})
    section = EnsembleConfig(members=["a.yaml", "b.yaml"], meta=FAST)
    cands = [c for c in build_candidates(section, inputs, None) if c.name != "stack"]
    blend = next(c for c in cands if c.name == "blend")
    others = fold != 0
    # the blend's own OOF of folds 1-3 leans to b: its weights there saw fold 0
    target = inputs.y
    old_choice = min(
        cands,
        key=lambda c: (
            score_predictions(inputs.task, target[others], c.oof[others], fold[others]).score
        ),
    )
    assert old_choice.name == "mean"

    nested = nested_selection(inputs, cands)

    assert nested.refitted and nested.picked_by_fold[0] == "blend"
    # refitted on folds 1-3 alone, the blend is what fold 0's labels cannot move
    y_moved = np.where(fold == 0, a, truth)
    moved = regression_inputs(tmp_path / "moved", y_moved, fold, {"a": a, "b": b})
    moved_blend = next(c for c in build_candidates(section, moved, None) if c.name == "blend")
    np.testing.assert_allclose(blend.refit(others), moved_blend.refit(others))


def test_the_stack_refit_reads_only_the_rows_it_is_given(tmp_path):
    """The stack's refit (meta-models and prior weights for each fold of the rows, fitted on
    those rows' other folds) is the same whatever the labels outside the rows are."""
    rng = np.random.default_rng(1)
    n = 240
    fold = np.arange(n) % 3
    truth = rng.normal(0, 3, n)
    preds = {"a": truth + rng.normal(0, 0.8, n), "b": truth + rng.normal(0, 1.2, n)}
    section = EnsembleConfig(members=["a.yaml", "b.yaml"], meta=FAST)
    rows = fold != 0
    refits = []
    for i, y in enumerate((truth, np.where(fold == 0, -truth, truth))):
        inputs = regression_inputs(tmp_path / str(i), y, fold, preds)
        stack = next(c for c in build_candidates(section, inputs, None) if c.name == "stack")
        assert stack.refit is not None
        refits.append(stack.refit(rows))
    assert refits[0].shape == (rows.sum(), 1)
    np.testing.assert_allclose(refits[0], refits[1])


def test_with_two_folds_nothing_is_refitted(tmp_path):
    y = np.arange(40, dtype=float)
    fold = np.arange(40) % 2
    inputs = regression_inputs(tmp_path, y, fold, {"a": y + 1, "b": y - 2})
    section = EnsembleConfig(members=["a.yaml", "b.yaml"], meta=FAST)
    cands = [c for c in build_candidates(section, inputs, None) if c.name != "stack"]
    nested = nested_selection(inputs, cands)
    assert not nested.refitted and nested.to_json()["refitted"] is False
    assert "two folds" in nested.describe()
