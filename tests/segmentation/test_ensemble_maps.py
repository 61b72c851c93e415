"""The mask ensemble's pieces on synthetic maps (no training): the weight search, the blend
beating two noisy copies of the truth, the gate emptying masks where members see nothing,
every fitted candidate CV-honest (fold k fitted without fold k), the nested selection and the
paired per-image comparison."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from podium.ensemble.members import Member
from podium.ensemble.nested import nested_selection
from podium.mask_ensemble.candidates import build_mask_candidates
from podium.mask_ensemble.combine import combine_maps
from podium.mask_ensemble.compare import compare_maps, paired_gain
from podium.mask_ensemble.gate import empty_labels, gate_cv, gate_features
from podium.mask_ensemble.nested import mask_nested_selection
from podium.mask_ensemble.weights import (
    MapBlender,
    best_threshold_score,
    blend,
    fit_weights,
    shrink,
)
from podium.metrics import Metric
from podium.metrics.segmentation import SEGMENTATION
from podium.tasks.decisions.mask_area import MaskThreshold
from podium.tasks.segmentation_codec import pixel_log_loss

SIZE, N = 24, 60


def truth(rng: np.random.Generator) -> np.ndarray:
    """(N, 1, SIZE, SIZE) masks: a disc of random size and place, a quarter of them empty."""
    yy, xx = np.mgrid[:SIZE, :SIZE]
    y = np.zeros((N, 1, SIZE, SIZE), bool)
    for i in range(N):
        if i % 4 == 0:
            continue
        cy, cx, r = rng.integers(6, SIZE - 6, 2).tolist() + [int(rng.integers(3, 6))]
        y[i, 0] = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
    return y


def noisy(y: np.ndarray, rng: np.random.Generator, sd: float) -> np.ndarray:
    """A member's maps: the truth blurred by independent noise, as probabilities."""
    logit = np.where(y, 1.5, -1.5) + rng.normal(0, sd, y.shape)
    return (1 / (1 + np.exp(-logit))).astype(np.float32)


def task() -> SimpleNamespace:
    dice = SEGMENTATION["dice"]
    loss = Metric("pixel_log_loss", pixel_log_loss, False, "probabilities")
    return SimpleNamespace(metric=dice, valid_loss=loss, decision=MaskThreshold(dice))


def inputs(members: dict[str, np.ndarray], y: np.ndarray, fold: np.ndarray) -> SimpleNamespace:
    ms = [Member(n, None, None, m, m[:8], []) for n, m in members.items()]  # type: ignore[arg-type]
    return SimpleNamespace(task=task(), members=ms, y=y, fold=fold)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    y = truth(rng)
    fold = np.arange(N) % 3
    return y, fold, noisy(y, rng, 2.0), noisy(y, rng, 2.0), rng


def test_shrink_keeps_small_maps_and_area_averages_big_ones():
    maps = np.zeros((2, 1, 64, 64), np.float32)
    maps[:, :, :32] = 1
    small = shrink(maps, side=32)
    assert (
        small.shape == (2, 1, 32, 32)
        and small[0, 0, :16].min() == 1
        and small[0, 0, 16:].max() == 0
    )
    assert shrink(maps[:, :, :16, :16], side=32).shape == (2, 1, 16, 16)


def test_the_weights_favour_the_good_member(data):
    y, _, a, _, rng = data
    junk = rng.random(a.shape).astype(np.float32)  # knows nothing
    w = fit_weights([a, junk], y)
    assert w.sum() == pytest.approx(1) and w[0] >= 0.8
    assert fit_weights([a], y).tolist() == [1.0]


@pytest.mark.parametrize("metric", ["iou", "global_dice"])
def test_the_weights_are_searched_on_the_competition_metric(data, metric):
    y, _, a, _, rng = data
    junk = rng.random(a.shape).astype(np.float32)
    assert fit_weights([junk, a], y, metric)[1] >= 0.8
    assert best_threshold_score(y, a, metric) != best_threshold_score(y, a, "dice")


def test_the_blend_of_two_noisy_copies_beats_each(data):
    y, _, a, b, _ = data
    w = fit_weights([a, b], y)
    blended = best_threshold_score(y, blend([a, b], w))
    assert blended > max(best_threshold_score(y, a), best_threshold_score(y, b)) + 0.01
    assert 0.3 <= w[0] <= 0.7  # alike members: about equal weights


def test_the_blend_of_fold_k_never_sees_fold_k(data):
    y, fold, a, b, _ = data
    blender = MapBlender([a, b], y)
    oof, weights = blender.cross_fit(fold)
    for k in range(3):
        expect = fit_weights([shrink(a)[fold != k], shrink(b)[fold != k]], y[fold != k])
        assert weights[k].tolist() == pytest.approx(expect.tolist())
        assert np.allclose(oof[fold == k], blend([a[fold == k], b[fold == k]], weights[k]))
    # refitted on a subset: that subset's folds alone, in that subset's row order
    rows = fold != 0
    sub, _ = blender.cross_fit(fold, rows)
    assert sub.shape == (rows.sum(), 1, SIZE, SIZE)


def test_the_gate_empties_what_the_members_see_as_empty(data):
    y, fold, a, b, _ = data
    x, labels = gate_features([a, b]), empty_labels(y)
    assert x.shape == (N, 6) and labels.sum() == (~y.reshape(N, -1).any(1)).sum()
    fitted = gate_cv(x, labels, blend([a, b], np.array([0.5, 0.5])), fold)
    emptied = ~fitted.oof.reshape(N, -1).any(1)
    truly = labels.astype(bool)
    assert fitted.emptied == emptied.sum() > 0
    assert (emptied & truly).sum() >= 0.8 * emptied.sum()  # mostly right where it acts


def test_candidates_nested_selection_and_the_paired_comparison(data, tmp_path):
    y, fold, a, b, _ = data
    inp = inputs({"a": a, "b": b}, y, fold)
    cands = build_mask_candidates(inp, tmp_path)  # type: ignore[arg-type]
    by = {c.name: c for c in cands}
    # a bundle makes every candidate's test maps again from what the ensemble stored
    for c in cands:
        stored = json.loads(json.dumps({"chosen": c.name, "kind": c.kind, **c.extra}))
        again = combine_maps(stored, ["a", "b"], [a[:8], b[:8]], tmp_path)
        assert np.array_equal(again, c.test), c.name
    assert any(f.suffix == ".ubj" for f in tmp_path.iterdir())
    assert list(by) == ["a", "b", "mean", "blend", "blend_gate"]
    assert by["blend"].scores.score > max(by["a"].scores.score, by["b"].scores.score)
    for c in cands:  # the decision refitted CV-honestly on every candidate's maps
        assert c.scores.decision is not None and set(c.scores.decision.fold_params) == {0, 1, 2}
        assert c.scores.decision.fit_score >= c.scores.score - 1e-9  # in-sample flatters
    nested = nested_selection(inp, cands)  # type: ignore[arg-type]
    assert nested.refitted and set(nested.picked_by_fold) == {0, 1, 2}
    assert nested.score <= max(c.scores.score for c in cands) + 1e-9
    vs = compare_maps(inp.task, y, fold, by["blend"].oof, by["a"].oof)  # type: ignore[arg-type]
    gain = vs.gains["dice"]
    assert gain.low <= gain.observed <= gain.high and "pixel_log_loss" in vs.gains
    assert "paired bootstrap" in vs.summary("blend", "a")


def test_a_gain_whose_interval_holds_zero_is_within_noise():
    rng = np.random.default_rng(1)
    assert paired_gain(rng.normal(0, 1, 50)).verdict == "within noise"
    assert paired_gain(np.full(50, 0.1) + rng.normal(0, 0.01, 50)).verdict == "a gain beyond noise"
    # ten images of each of five patients, one lucky patient: by image it looks real, by
    # patient (the unit of evidence) it is noise
    diff = np.repeat([0.5, -0.05, 0.0, -0.05, 0.0], 10) + rng.normal(0, 0.01, 50)
    assert paired_gain(diff).verdict == "a gain beyond noise"
    assert paired_gain(diff, np.repeat(np.arange(5), 10)).verdict == "within noise"


def test_one_member_is_its_own_ensemble(data):
    y, fold, a, _, _ = data
    inp = inputs({"a": a}, y, fold)
    (only,) = build_mask_candidates(inp, None)  # type: ignore[arg-type]
    assert only.name == "a" and only.is_member
    assert mask_nested_selection(inp, [only]).picked_by_fold == {0: "a", 1: "a", 2: "a"}  # type: ignore[arg-type]


def test_two_folds_choose_on_the_other_fold_decided(data):
    y, _, a, b, _ = data
    fold = np.arange(N) % 2
    inp = inputs({"a": a, "b": b}, y, fold)
    cands = build_mask_candidates(inp, None)  # type: ignore[arg-type]
    nested = mask_nested_selection(inp, cands)  # type: ignore[arg-type]
    assert not nested.refitted and set(nested.picked_by_fold) == {0, 1}
    assert 0 < nested.score <= 1
