"""The ensemble's combinations meet the test rows fold by fold (`podium.ensemble.fold_views`):
blend weights and meta-models are fitted on OOF rows, each one fold's models' prediction, so
they are applied to each fold's models' test predictions and the results averaged; where a
member has no per-fold predictions, the fold-averaged ones, and the report says which. The
bundle's `podium predict` computing the same numbers is tested in tests/stages/test_export.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.special import softmax

from factories import toy_config, write_competition
from podium.competition import Competition
from podium.config.ensemble import EnsembleConfig
from podium.ensemble.candidates import build_candidates
from podium.ensemble.fold_views import FOLD_AVERAGED, PER_FOLD, fold_views
from podium.ensemble.inputs import Inputs
from podium.ensemble.members import Member

N_TEST = 6


def test_views_stack_fold_by_fold_and_average_back():
    a = {0: np.full((3, 2), 0.1), 1: np.full((3, 2), 0.3)}
    b = {0: np.full((3, 2), 0.5), 1: np.full((3, 2), 0.9)}
    views = fold_views([a, b], [np.full((3, 2), 0.2), np.full((3, 2), 0.7)])
    assert views.kind == PER_FOLD and views.folds == [0, 1] and views.n_views == 2
    assert views.tests[0].shape == (6, 2) and np.allclose(views.tests[1][3:], 0.9)  # fold 1
    # a candidate's output on the views, averaged: ((0.1 + 0.5) + (0.3 + 0.9)) / 2
    assert np.allclose(views.mean(views.tests[0] + views.tests[1]), 0.9)
    assert views.tile(np.arange(3)).tolist() == [0, 1, 2, 0, 1, 2]
    assert "each fold's models' test predictions (2 folds" in views.how

    # a member without per-fold predictions, other folds, or one fold: the averaged ones
    for by_fold in ([a, None], [a, {0: b[0], 2: b[1]}], [{0: a[0]}, {0: b[0]}]):
        views = fold_views(by_fold, [np.full((3, 2), 0.2), np.full((3, 2), 0.7)])
        assert views.kind == FOLD_AVERAGED and views.n_views == 1
        assert np.allclose(views.tests[1], 0.7) and views.tile(np.arange(3)).tolist() == [0, 1, 2]
    assert fold_views([a, b], [a[0], b[0]], per_fold=False).kind == FOLD_AVERAGED


def _inputs(tmp_path, with_by_fold: bool) -> Inputs:
    """A toy 3-class competition, 2 folds, and two members whose fold models disagree on the
    test rows (one confident and right, the other hesitant), so a non-linear combination
    of the fold-averaged predictions differs from the mean of its per-fold values."""
    rng = np.random.default_rng(0)
    labels = [str(i % 3) for i in range(36)]
    write_competition(tmp_path, labels, n_test=N_TEST)
    comp = Competition.from_config(toy_config(tmp_path))
    y, fold = comp.targets, np.arange(36) % 2

    def proba(n: int, sharp: float, truth: np.ndarray) -> np.ndarray:
        return softmax(sharp * np.eye(3)[truth] + rng.normal(0, 1.0, (n, 3)), axis=1)

    truth = rng.integers(0, 3, N_TEST)
    members = []
    for name, sharp in (("m1", 2.0), ("m2", 1.0)):
        by_fold = {k: proba(N_TEST, sharp * (1 + k), truth) for k in (0, 1)}
        test = np.mean(list(by_fold.values()), axis=0)
        members.append(
            Member(
                name,
                Path(name),
                Path(name),
                proba(36, sharp, y),
                test,
                [],
                by_fold if with_by_fold or name == "m1" else None,
            )
        )
    return Inputs(comp, members, y, fold, "hash")


def _logit_blend(preds: list[np.ndarray], weights: np.ndarray) -> np.ndarray:
    return softmax(
        sum(w * np.log(np.clip(p, 1e-7, 1)) for w, p in zip(weights, preds, strict=True)), axis=1
    )


def test_a_fitted_blend_meets_each_fold_s_test_predictions(tmp_path):
    inputs = _inputs(tmp_path, with_by_fold=True)
    section = EnsembleConfig(members=["m1.yaml", "m2.yaml"], meta={"seeds": [0], "n_jobs": 1})
    cands = {c.name: c for c in build_candidates(section, inputs, None)}
    blend = cands["logit_blend"]
    weights = np.mean([blend.extra["weights_by_fold"][m] for m in ("m1", "m2")], axis=1)
    per_fold = np.mean(
        [_logit_blend([m.test_by_fold[k] for m in inputs.members], weights) for k in (0, 1)],
        axis=0,
    )
    averaged = _logit_blend([m.test for m in inputs.members], weights)
    np.testing.assert_allclose(blend.test, per_fold, atol=1e-6)
    assert not np.allclose(per_fold, averaged, atol=1e-3)  # the two ways differ here
    assert "each fold's models' test predictions" in blend.extra["weighting"]
    assert "each fold's models' test predictions" in cands["stack"].extra["test_rows"]
    # a member alone submits its own test.parquet
    np.testing.assert_array_equal(cands["m2"].test, inputs.members[1].test)


def test_without_every_member_s_folds_the_averaged_predictions_and_the_report_says_so(tmp_path):
    inputs = _inputs(tmp_path, with_by_fold=False)  # m2 has no test_by_fold
    section = EnsembleConfig(members=["m1.yaml", "m2.yaml"], meta={"seeds": [0], "n_jobs": 1})
    cands = {c.name: c for c in build_candidates(section, inputs, None)}
    blend = cands["logit_blend"]
    weights = np.mean([blend.extra["weights_by_fold"][m] for m in ("m1", "m2")], axis=1)
    averaged = _logit_blend([m.test for m in inputs.members], weights)
    np.testing.assert_allclose(blend.test, averaged, atol=1e-6)
    assert blend.extra["weighting"].endswith("applied to the fold-averaged test predictions")
