"""Series end to end through the CLI, as a user runs it, on a tiny copy of the demo (16 train
and 6 test studies, 2 folds, 1 epoch, timm's test_resnet under the attention head): folds ->
train -> oof -> infer -> submit -> score, one prediction per study, an exported bundle that
predicts the same submission; and a series with a gap
(a warning naming it) or a slice of another orientation (a one-line error naming it)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pydicom
import pytest
from tiny_series import tiny_overrides

from podium.cli import main
from podium.config import load_config
from podium.series.demo import write_series_demo
from podium.series.files import series_files

ROOT = Path(__file__).resolve().parents[2]
ATTENTION = ROOT / "configs/digits_series/attention.yaml"
SLICE_MAX = ROOT / "configs/digits_series/slice_max.yaml"
ENSEMBLE = ROOT / "configs/digits_series/ensemble_full.yaml"  # the three members


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("series")
    write_series_demo(tmp / "data/digits_series", n_train=16, n_test=6)
    return tmp


def cli(tmp: Path, *args: str, config: Path = ATTENTION) -> int:
    return main([*args, "-c", str(config), *tiny_overrides(tmp)])


def test_demo_layout(demo):
    root = demo / "data/digits_series"
    train = pd.read_csv(root / "train.csv")
    assert list(train.columns) == ["id", "patient_id", "label"] and len(train) == 16
    assert train["patient_id"].nunique() < len(train)  # some patients have two studies
    assert list(pd.read_csv(root / "test.csv").columns) == ["id", "patient_id"]
    solution = pd.read_csv(root / "solution.csv")
    assert list(solution.columns) == ["id", "label", "Usage"]
    assert set(solution["Usage"]) == {"Public", "Private"}
    files = series_files(root / "train_images" / train["id"][0])
    assert 16 <= len(files) <= 48
    ds = pydicom.dcmread(files[0])
    assert len(ds.ImagePositionPatient) == 3 and len(ds.ImageOrientationPatient) == 6
    assert ds.PixelSpacing and ds.SliceThickness and ds.InstanceNumber


@pytest.mark.parametrize("config", [ATTENTION, SLICE_MAX], ids=["attention", "slice_max"])
def test_end_to_end_through_the_cli(demo, config, capsys):
    assert cli(demo, "score", config=config) == 0
    out = capsys.readouterr().out
    cfg = load_config(config, tiny_overrides(demo))
    scores = json.loads((cfg.run_dir / "scores.json").read_text())
    assert 0 <= scores["cv"] <= 1
    oof = pd.read_parquet(cfg.run_dir / "oof.parquet")
    assert len(oof) == 16  # one row per study
    sub = next((demo / "subs").glob(f"digits_series-{cfg.name}-*.csv"))
    sample = pd.read_csv(demo / "data/digits_series/sample_submission.csv")
    submitted = pd.read_csv(sub)
    assert submitted["id"].tolist() == sample["id"].tolist()
    assert submitted["label"].between(0, 1).all()
    assert f"score digits_series-{cfg.name}" in out
    cache = next((cfg.comp_dir / "cache").glob("train-16x16-*.npy"))
    assert np.load(cache, mmap_mode="r").shape == (16, 16, 16, 8)  # (studies, H, W, depth)


def test_the_ensemble_blends_the_series_members_and_the_pixels_reference(demo, capsys):
    assert cli(demo, "ensemble", config=ENSEMBLE) == 0
    out = capsys.readouterr().out
    for member in ("attention", "slice_max", "pixels_logistic"):
        assert f"  {member} " in out
    assert "logistic on 512 pixel values" in out  # 8 x 8 pixels x 8 slices (data.slices.depth)


def test_an_exported_bundle_predicts_the_submission(demo, tmp_path):
    assert cli(demo, "submit") == 0
    bundle = tmp_path / "bundle"
    assert main(["export", "-c", str(ATTENTION), *tiny_overrides(demo), "--out", str(bundle)]) == 0
    out = tmp_path / "submission.csv"
    data = demo / "data/digits_series"
    assert main(["predict", "--bundle", str(bundle), "--data", str(data), "--out", str(out)]) == 0
    cfg = load_config(ATTENTION, tiny_overrides(demo))
    submitted = pd.read_csv(sorted((demo / "subs").glob(f"digits_series-{cfg.name}-*.csv"))[-1])
    predicted = pd.read_csv(out)
    assert predicted["id"].tolist() == submitted["id"].tolist()
    np.testing.assert_allclose(predicted["label"], submitted["label"], atol=1e-6)


@pytest.fixture
def copy(demo, tmp_path) -> Path:
    shutil.copytree(demo / "data", tmp_path / "data")
    return tmp_path


def test_a_gap_is_a_warning_naming_the_series(copy, capsys):
    folder = copy / "data/digits_series/train_images/train_0001"
    datasets = [pydicom.dcmread(f) for f in series_files(folder)]
    normal = np.cross(*np.reshape(np.asarray(datasets[0].ImageOrientationPatient, float), (2, 3)))
    middle = sorted(
        datasets, key=lambda d: np.dot(np.asarray(d.ImagePositionPatient, float), normal)
    )
    Path(middle[len(middle) // 2].filename).unlink()
    assert cli(copy, "train") == 0
    err = capsys.readouterr().err
    assert f"warning: series {folder}: gap of" in err and "a missing slice?" in err


def test_a_slice_of_another_orientation_is_one_line_naming_the_series(copy, capsys):
    folder = copy / "data/digits_series/train_images/train_0002"
    first = series_files(folder)[0]
    ds = pydicom.dcmread(first)
    ds.ImageOrientationPatient = [1, 0, 0, 0, 0, -1]  # a coronal slice in an axial series
    ds.save_as(first)
    assert cli(copy, "train") == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert "train_0002 (series: mixed orientations (ImageOrientationPatient):" in err


def test_several_binary_targets_per_study_as_multilabel(copy, capsys):
    root = copy / "data/digits_series"
    for name, extra in (
        ("train.csv", None),
        ("sample_submission.csv", 0.5),
        ("solution.csv", None),
    ):
        table = pd.read_csv(root / name)
        column = np.arange(len(table)) % 2 if extra is None else extra
        table.insert(2, "ring", column)
        table.to_csv(root / name, index=False)
    multilabel = [
        "competition.task=multilabel",
        "competition.target_columns=[label,ring]",
        "competition.metric=null",
        "folds.method=group",
    ]
    assert main(["submit", "-c", str(ATTENTION), *tiny_overrides(copy), *multilabel]) == 0
    capsys.readouterr()
    submitted = pd.read_csv(next((copy / "subs").glob("digits_series-attention-*.csv")))
    assert list(submitted.columns) == ["id", "label", "ring"] and len(submitted) == 6
