"""oof / infer / submit / score on a tiny trained experiment (issue: OOF, TTA, submissions)."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
import torch

from podium.artifacts import read_json
from podium.competition import DataError
from podium.data.device import Normalizer
from podium.engine.precision import resolve_precision
from podium.engine.predict import predict_logits
from podium.stages import infer, oof, score, submit
from podium.submission import read_submission, validate_submission
from podium.tasks.probability import merge_logits as combine
from podium.units.predict import UnitPredictor


@pytest.fixture(scope="module")
def predicted(trained):
    oof.run(trained)
    infer.run(trained)
    return trained


def test_oof_covers_every_train_id_once_with_its_fold(predicted):
    frame = pd.read_parquet(predicted.run_dir / "oof.parquet")
    folds = pd.read_csv(predicted.cfg.folds_path, dtype={"id": str})
    assert list(frame["id"]) == list(predicted.comp.train_ids)
    assert frame["id"].is_unique
    assert (frame["fold"].to_numpy() == folds["fold"].to_numpy()).all()
    assert list(frame["target"]) == list(predicted.comp.train["label"])
    proba = frame[predicted.task.columns].to_numpy()
    np.testing.assert_allclose(proba.sum(1), 1.0, atol=1e-5)


def test_scores_show_each_view_and_the_merged_tta(predicted):
    scores = read_json(predicted.run_dir / "scores.json")
    assert set(scores["views"]) == set(predicted.cfg.infer.tta)
    assert scores["metric"] == "accuracy" and 0 <= scores["cv"] <= 1
    assert set(scores["final"]["folds"]) == {"0", "1"}
    other = "best" if predicted.cfg.train.checkpoint == "last" else "last"
    assert f"{other}_checkpoint" in scores  # the best-vs-last gap is reported


def test_test_predictions_match_sample_submission(predicted):
    test = pd.read_parquet(predicted.run_dir / "test.parquet")
    by_fold = pd.read_parquet(predicted.run_dir / "test_by_fold.parquet")
    sample = predicted.comp.sample_submission
    assert list(test["id"]) == list(sample["id"])
    assert sorted(by_fold["fold"].unique()) == [0, 1]
    cols = predicted.task.columns
    np.testing.assert_allclose(test[cols].to_numpy().sum(1), 1.0, atol=1e-5)
    # with probability merging and one seed, the overall mean is the mean of the fold means
    mean_of_folds = np.mean([f[cols].to_numpy() for _, f in by_fold.groupby("fold")], axis=0)
    np.testing.assert_allclose(test[cols].to_numpy(), mean_of_folds, atol=1e-5)


def test_identity_tta_equals_plain_prediction(trained):
    predictor = UnitPredictor(trained)
    images = np.array(trained.train_images[:40])
    tta = predictor.logits(0, 0, images, ["identity"])[0]
    model = predictor.model
    normalize = Normalizer(trained.cfg.data.mean, trained.cfg.data.std, torch.device("cpu"), False)
    with torch.no_grad():
        plain = model.eval()(normalize(images)).numpy()
    np.testing.assert_allclose(tta, plain, atol=1e-4)
    # and through the shared helper, too
    again = predict_logits(
        model, images, normalize, resolve_precision(torch.device("cpu"), "fp32"), ["identity"], 7
    )
    np.testing.assert_allclose(again[0], plain, atol=1e-4)


@pytest.mark.parametrize("how", ["prob", "logit", "geometric"])
def test_merges_give_distributions(how):
    logits = np.random.default_rng(0).normal(size=(4, 10, 3))
    p = combine(logits, how)
    assert p.shape == (10, 3)
    np.testing.assert_allclose(p.sum(1), 1.0)


def test_submit_writes_a_valid_file_and_a_perfect_one_scores_one(predicted, tmp_path):
    path = submit.run(predicted.cfg)
    assert path.name.startswith("digits-tiny-cv") and path.suffix == ".csv"
    sub = read_submission(path)
    validate_submission(predicted.comp, sub, str(path))
    result = score.run(predicted.cfg, path)
    assert 0 <= result["all"] <= 1 and {"public", "private"} <= set(result)
    solution = predicted.comp.solution
    perfect = tmp_path / "perfect.csv"
    solution[["id", "label"]].to_csv(perfect, index=False)
    assert score.run(predicted.cfg, perfect) == {"all": 1.0, "public": 1.0, "private": 1.0}


@pytest.mark.parametrize(
    "spoil, message",
    [
        (lambda s: s.iloc[::-1], "ids or order differ"),
        (lambda s: s.assign(id=s["id"].str.replace("img_", "x_")), "ids or order differ"),
        (lambda s: s.iloc[:-1], "rows"),
        (lambda s: s.assign(label=[np.nan] + list(s["label"][1:])), "empty or NaN"),
        (lambda s: s.assign(label="eleven"), "not a class"),
        (lambda s: s.rename(columns={"label": "digit"}), "columns"),
    ],
)
def test_submission_validation_rejects_broken_files(predicted, spoil, message):
    sample = predicted.comp.solution[["id", "label"]].reset_index(drop=True)
    broken = spoil(sample.copy()).reset_index(drop=True)
    with pytest.raises(DataError, match=message):
        validate_submission(predicted.comp, broken, "broken.csv")


def test_oof_refuses_untrained_folds(tiny_config):
    from podium.artifacts import ArtifactError
    from podium.experiment import Experiment
    from podium.stages import folds

    cfg = tiny_config()
    folds.run(cfg)
    with pytest.raises(ArtifactError, match="not trained"):
        oof.run(Experiment(cfg))


def test_rerun_is_a_no_op(predicted, caplog):
    with caplog.at_level(logging.INFO, logger="podium"):
        oof.run(predicted)
        infer.run(predicted)
    assert caplog.text.count("up to date") == 2
