"""Volumes end to end through the CLI, as a user runs it, on a tiny copy of the demo (16 train
and 6 test NIfTI volumes at mixed spacings, 2 folds, 1 epoch, MONAI's resnet10): folds -> train
-> oof -> infer -> submit -> score with one prediction per volume and sliding-window prediction
over the cached volume; the ensemble with the voxels' logistic regression; an exported bundle
that predicts the same submission; and bad files (a NIfTI that does not load, a 2-D one, a
missing one) listed in one line naming each."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from podium.cli import main
from podium.config import load_config
from podium.volumes.demo import write_volumes_demo

ROOT = Path(__file__).resolve().parents[2]
BASE = ROOT / "configs/digits_volumes/base.yaml"
ENSEMBLE = ROOT / "configs/digits_volumes/ensemble.yaml"


def overrides(tmp: Path) -> list[str]:
    return [
        f"paths.data={tmp / 'data'}",
        f"paths.runs={tmp / 'runs'}",
        f"paths.submissions={tmp / 'subs'}",
        "folds.n_splits=2",
        "model.kwargs={widen_factor: 0.25}",  # resnet10 at a quarter of its width: 1 MB
        "train.epochs=1",
        "train.batch_size=4",
        "train.progress=false",
        "infer.batch_size=8",
        "infer.tta=[identity,dflip]",
    ]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("volumes")
    write_volumes_demo(tmp / "data/digits_volumes", n_train=16, n_test=6)
    return tmp


def cli(tmp: Path, *args: str, config: Path = BASE) -> int:
    return main([*args, "-c", str(config), *overrides(tmp)])


def test_demo_layout(demo):
    root = demo / "data/digits_volumes"
    train = pd.read_csv(root / "train.csv")
    assert list(train.columns) == ["id", "label"] and len(train) == 16
    assert set(train["label"]) == {0, 1}
    assert list(pd.read_csv(root / "test.csv").columns) == ["id"]
    assert list(pd.read_csv(root / "solution.csv").columns) == ["id", "label", "Usage"]
    zooms = {nib.load(str(p)).header.get_zooms() for p in (root / "train_images").glob("*.nii.gz")}
    assert len(zooms) > 1  # mixed spacings: the reader must resample


def test_end_to_end_through_the_cli(demo, capsys):
    assert cli(demo, "score") == 0
    out = capsys.readouterr().out
    cfg = load_config(BASE, overrides(demo))
    scores = json.loads((cfg.run_dir / "scores.json").read_text())
    assert 0 <= scores["cv"] <= 1
    assert len(pd.read_parquet(cfg.run_dir / "oof.parquet")) == 16  # one row per volume
    sub = next((demo / "subs").glob(f"digits_volumes-{cfg.name}-*.csv"))
    sample = pd.read_csv(demo / "data/digits_volumes/sample_submission.csv")
    submitted = pd.read_csv(sub)
    assert submitted["id"].tolist() == sample["id"].tolist()
    assert submitted["label"].between(0, 1).all()
    assert f"score digits_volumes-{cfg.name}" in out and "view dflip" in out
    cache = next((cfg.comp_dir / "cache").glob("train-24x24-*.npy"))
    assert np.load(cache, mmap_mode="r").shape == (16, 24, 24, 16)  # (volumes, H, W, D)


def test_the_ensemble_blends_the_network_and_the_voxels_reference(demo, capsys):
    assert cli(demo, "ensemble", config=ENSEMBLE) == 0
    out = capsys.readouterr().out
    for member in ("base", "pixels_logistic"):
        assert f"  {member} " in out
    assert "logistic on 1024 pixel values" in out  # 8 x 8 in-plane x 16 slices


def test_an_exported_bundle_predicts_the_submission(demo, tmp_path):
    assert cli(demo, "submit") == 0
    bundle = tmp_path / "bundle"
    assert main(["export", "-c", str(BASE), *overrides(demo), "--out", str(bundle)]) == 0
    out = tmp_path / "submission.csv"
    data = demo / "data/digits_volumes"
    assert main(["predict", "--bundle", str(bundle), "--data", str(data), "--out", str(out)]) == 0
    cfg = load_config(BASE, overrides(demo))
    submitted = pd.read_csv(sorted((demo / "subs").glob(f"digits_volumes-{cfg.name}-*.csv"))[-1])
    predicted = pd.read_csv(out)
    assert predicted["id"].tolist() == submitted["id"].tolist()
    np.testing.assert_allclose(predicted["label"], submitted["label"], atol=1e-6)


def test_bad_volumes_are_one_line_naming_each_file(demo, tmp_path, capsys):
    shutil.copytree(demo / "data", tmp_path / "data")
    images = tmp_path / "data/digits_volumes/train_images"
    (images / "train_0001.nii.gz").write_bytes(b"\x1f\x8b\x08\x00" + b"\x00" * 32)
    flat = nib.Nifti1Image(np.zeros((24, 24), np.int16), np.eye(4))
    nib.save(flat, str(images / "train_0002.nii.gz"))
    assert cli(tmp_path, "train") == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert "2 images could not be decoded" in err
    assert "train_0001.nii.gz (not a readable NIfTI file" in err
    assert "train_0002.nii.gz (a volume must be 3-D (x, y, z), got shape (24, 24))" in err
    (images / "train_0003.nii.gz").unlink()
    assert cli(tmp_path, "train") == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert "image not found" in err and "train_0003.nii.gz" in err and "line 5 of" in err


def test_a_multiclass_target_per_volume(demo, tmp_path, capsys):
    shutil.copytree(demo / "data", tmp_path / "data")
    root = tmp_path / "data/digits_volumes"
    for name in ("train.csv", "solution.csv", "sample_submission.csv"):
        table = pd.read_csv(root / name)
        grade = ["none", "one", "two"]
        table["label"] = [grade[(int(v) + i) % 3] for i, v in enumerate(table["label"] >= 0.5)]
        if name == "train.csv":
            table.loc[:2, "label"] = grade  # every class in train
        table.to_csv(root / name, index=False)
    multiclass = [
        "competition.task=multiclass",
        "competition.metric=accuracy",
        "competition.submission_format=label",
    ]
    assert main(["submit", "-c", str(BASE), *overrides(tmp_path), *multiclass]) == 0
    capsys.readouterr()
    submitted = pd.read_csv(next((tmp_path / "subs").glob("digits_volumes-base-*.csv")))
    assert list(submitted.columns) == ["id", "label"] and len(submitted) == 6
    assert set(submitted["label"]) <= {"none", "one", "two"}
