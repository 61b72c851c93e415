"""Studies of several series (`data.slices.series: all`, #28) end to end through the CLI on a
tiny copy of the studies demo (16 train and 6 test studies of one or two series, 2 folds, 1
epoch, timm's test_resnet): folds -> train -> oof -> infer -> submit -> score with one
prediction row per study, each study's prediction the mean of its series' predictions (each
series predicted alone here), the folds by study; and a study folder without series or a
series folder without files is one line naming the folder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError
from tiny_series import tiny_overrides

from podium.cli import main
from podium.config import load_config
from podium.config.schema import DataConfig
from podium.experiment import Experiment
from podium.predictions import read_oof, read_test
from podium.series.demo import write_series_demo
from podium.series.studies import StudyLayout, study_series
from podium.units.predict import UnitPredictor
from podium.units.train import fold_rows

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "configs/digits_series_studies/attention.yaml"
NAME = "digits_series_studies"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("studies")
    write_series_demo(tmp / "data" / NAME, n_train=16, n_test=6, studies=True)
    return tmp


def test_the_layout_holds_studies_of_one_or_two_series(demo):
    root = demo / "data" / NAME
    train = pd.read_csv(root / "train.csv")
    counts = [len(study_series(root / "train_images" / i, "all")) for i in train["id"]]
    assert set(counts) == {1, 2}
    assert [len(study_series(root / "train_images" / i, "first")) for i in train["id"]] == [1] * 16
    two = train["id"][counts.index(2)]
    assert len(study_series(root / "train_images" / two, 1)) == 1
    assert len(study_series(root / "train_images" / two, 3)) == 2


@pytest.mark.parametrize("given", [0, "some", -1])
def test_a_series_selection_that_is_not_all_first_or_a_count_is_refused(given):
    with pytest.raises(ValidationError, match="series"):
        DataConfig(slices={"depth": 8, "series": given})
    assert DataConfig(slices={"depth": 8, "series": 2}).slices.series == 2


def test_study_layout_selects_and_repeats_a_studys_series():
    layout = StudyLayout.from_counts([2, 1, 2])
    assert layout.replicas == 2 and layout.study.tolist() == [0, 0, 1, 2, 2]
    index, sub = layout.select(np.array([2, 1]))
    assert index.tolist() == [3, 4, 2] and sub.study.tolist() == [0, 0, 1]
    logits = np.arange(5, dtype=float)[None, :, None]  # (V=1, series, C=1)
    members = np.stack(list(layout.members(logits)))  # (replicas, V, studies, C)
    assert members[:, 0, :, 0].tolist() == [[0, 2, 3], [1, 2, 4]]
    assert StudyLayout.from_counts([1, 2, 3]).replicas == 6


def test_end_to_end_one_row_per_study_the_mean_of_its_series(demo, capsys):
    assert main(["score", "-c", str(CONFIG), *tiny_overrides(demo)]) == 0
    out = capsys.readouterr().out
    assert f"score {NAME}-attention" in out
    cfg = load_config(CONFIG, tiny_overrides(demo))
    exp = Experiment(cfg)
    studies, test_studies = exp.train_studies, exp.test_studies
    assert studies is not None and test_studies is not None
    n_series = int(studies.counts.sum())
    assert n_series > 16 and len(exp.train_images) == n_series  # one cache row per series
    assert 0 <= json.loads((cfg.run_dir / "scores.json").read_text())["cv"] <= 1
    # the folds are the studies': a fold's series are exactly its studies' series
    train, valid = fold_rows(exp, 0)
    in_fold = exp.fold_of_row == 0
    assert len(valid.images) == studies.counts[in_fold].sum()
    assert len(train.images) + len(valid.images) == n_series
    # each series predicted alone (views and seeds merged as infer.merge: prob), then the
    # mean over a study's series: the study's row of oof.parquet and test.parquet
    task, predictor = exp.task, UnitPredictor(exp)
    oof = read_oof(cfg.run_dir / "oof.parquet", task, exp.comp.train_ids, exp.fold_of_row)
    assert oof.shape[0] == 16
    for k in range(2):
        rows = np.flatnonzero(exp.fold_of_row == k)
        images, layout = exp.train_rows(rows)
        assert layout is not None
        per_series = task.merge(
            np.concatenate(list(predictor.per_seed(k, images, cfg.infer.tta))), "prob"
        )
        means = [per_series[layout.study == r].mean(axis=0) for r in range(len(rows))]
        np.testing.assert_allclose(oof[rows], np.stack(means), atol=1e-5)
    test = read_test(cfg.run_dir / "test.parquet", task, exp.comp.test_ids)
    logits = predictor.test_logits(exp.test_images)  # no studies: one row per series
    per_series = task.merge(np.concatenate(list(logits.values())), "prob")
    means = [per_series[test_studies.study == r].mean(axis=0) for r in range(6)]
    np.testing.assert_allclose(test, np.stack(means), atol=1e-5)
    sub = pd.read_csv(next((demo / "subs").glob(f"{NAME}-attention-*.csv")))
    assert len(sub) == 6 and sub["label"].between(0, 1).all()


def test_a_logit_merge_averages_a_studys_series_logits(demo):
    logit = [*tiny_overrides(demo), "infer.merge=logit"]
    assert main(["infer", "-c", str(CONFIG), *logit]) == 0
    cfg = load_config(CONFIG, logit)
    exp = Experiment(cfg)
    assert exp.test_studies is not None
    test = read_test(cfg.run_dir / "test.parquet", exp.task, exp.comp.test_ids)
    logits = UnitPredictor(exp).test_logits(exp.test_images)  # one row per series
    per_series = np.concatenate(list(logits.values())).mean(axis=0)  # folds x views
    means = np.stack([per_series[exp.test_studies.study == r].mean(axis=0) for r in range(6)])
    np.testing.assert_allclose(test, exp.task.merge(means[None], "logit"), atol=1e-5)


@pytest.fixture
def copy(demo, tmp_path) -> Path:
    shutil.copytree(demo / "data", tmp_path / "data")
    return tmp_path


def _one_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    return err


def test_a_study_folder_without_series_is_one_line_naming_it(copy, capsys):
    study = copy / "data" / NAME / "train_images/train_0003"
    for series in study_series(study, "all"):
        shutil.rmtree(series)
    assert main(["train", "-c", str(CONFIG), *tiny_overrides(copy)]) == 2
    assert f"study folder {study} has no series sub-folders" in _one_line(capsys)


def test_a_series_folder_without_files_is_one_line_naming_it(copy, capsys):
    series = study_series(copy / "data" / NAME / "train_images/train_0004", "all")[0]
    for f in series.iterdir():
        f.unlink()
    assert main(["train", "-c", str(CONFIG), *tiny_overrides(copy)]) == 2
    assert f"series folder {series} has no DICOM files (study train_0004)" in _one_line(capsys)


def test_tabular_members_on_studies_are_refused_by_name(demo, capsys):
    pixels = ROOT / "configs/digits_series/pixels_logistic.yaml"
    studies = [*tiny_overrides(demo), "data.slices.series=all", f"competition.name={NAME}"]
    assert main(["train", "-c", str(pixels), *studies]) == 2
    assert "data.slices.series (studies of several series) does not take a tabular" in _one_line(
        capsys
    )


def test_an_exported_bundle_predicts_the_studies_submission(demo, tmp_path):
    assert main(["submit", "-c", str(CONFIG), *tiny_overrides(demo)]) == 0
    bundle = tmp_path / "bundle"
    assert main(["export", "-c", str(CONFIG), *tiny_overrides(demo), "--out", str(bundle)]) == 0
    out = tmp_path / "submission.csv"
    data = demo / "data" / NAME
    assert main(["predict", "--bundle", str(bundle), "--data", str(data), "--out", str(out)]) == 0
    submitted = pd.read_csv(sorted((demo / "subs").glob(f"{NAME}-attention-*.csv"))[-1])
    predicted = pd.read_csv(out)
    assert predicted["id"].tolist() == submitted["id"].tolist() and len(predicted) == 6
    np.testing.assert_allclose(predicted["label"], submitted["label"], atol=1e-6)
