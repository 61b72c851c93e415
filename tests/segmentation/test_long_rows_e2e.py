"""A long-row segmentation competition end to end through the CLI: the tiny segmentation demo
rewritten in Severstal's layout (train.csv `ImageId, ClassId, EncodedPixels` listing only the
non-empty pairs of two classes, sample_submission and solution `ImageId_ClassId,
EncodedPixels`), trained 1 epoch at 32 px: folds -> train -> oof -> infer -> submit -> score,
the submission written in the sample's long columns and row order; a bad class value named
by line."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from factories import tiny_mask_overrides
from podium.cli import main
from podium.segmentation.demo import write_segmentation_demo
from podium.segmentation.rle import decode, encode

ROOT = Path(__file__).resolve().parents[2]
UNET = ROOT / "configs/digits_segmentation/unet.yaml"
SIZE = 32
CLASSES = ("1", "2")

CONFIG = """extends: {unet}
competition:
  name: steel
  id_column: ImageId
  classes: ["1", "2"]
  rle: severstal
  test_csv: null
  solution: solution.csv
  train_images: train/{{id}}
  test_images: test/{{id}}
  rle_rows:
    image: ImageId
    class: ClassId
    rle: EncodedPixels
    unlisted: empty
    submission: {{image_label: ImageId_ClassId, separator: "_"}}
"""


def masks_of(cell: str) -> list[np.ndarray]:
    """The demo's one mask as two classes: the digit, and its left half."""
    digit = decode(cell, (SIZE, SIZE))
    left = digit.copy()
    left[:, SIZE // 2 :] = False
    return [digit, left]


def long_rows(table: pd.DataFrame, listed_only: bool) -> list[dict[str, str]]:
    rows = []
    for image_id, cell in zip(table["id"], table["rle"], strict=True):
        for cls, mask in zip(CLASSES, masks_of(cell), strict=True):
            if listed_only and not mask.any():
                continue
            rows.append({"image": f"{image_id}.png", "cls": cls, "rle": encode(mask)})
    return rows


@pytest.fixture(scope="module")
def steel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("steel")
    demo = write_segmentation_demo(tmp / "demo", size=SIZE, n_train=24, n_test=8)
    root = tmp / "data/steel"
    root.mkdir(parents=True)
    shutil.copytree(demo / "train", root / "train")
    shutil.copytree(demo / "test", root / "test")
    read = {"dtype": str, "keep_default_na": False}
    train = pd.DataFrame(long_rows(pd.read_csv(demo / "train.csv", **read), listed_only=True))
    train.columns = ["ImageId", "ClassId", "EncodedPixels"]
    train.to_csv(root / "train.csv", index=False)
    solution = pd.read_csv(demo / "solution.csv", **read)
    usage = dict(zip(solution["id"] + ".png", solution["Usage"], strict=True))
    truth = pd.DataFrame(long_rows(solution, listed_only=False))
    truth = pd.DataFrame(
        {
            "ImageId_ClassId": truth["image"] + "_" + truth["cls"],
            "EncodedPixels": truth["rle"],
            "Usage": truth["image"].map(usage),
        }
    )
    truth.to_csv(root / "solution.csv", index=False)
    truth[["ImageId_ClassId"]].assign(EncodedPixels="").to_csv(
        root / "sample_submission.csv", index=False
    )
    (tmp / "steel.yaml").write_text(CONFIG.format(unet=UNET))
    return tmp


def cli(tmp: Path, *args: str) -> int:
    return main(
        [
            *args,
            "-c",
            str(tmp / "steel.yaml"),
            *tiny_mask_overrides(tmp, SIZE),
            "infer.tta=[identity]",
        ]
    )


def test_a_severstal_layout_trains_submits_and_scores(steel, capsys):
    train = pd.read_csv(steel / "data/steel/train.csv", dtype=str)
    assert len(train) < 2 * 24  # only the non-empty pairs are listed
    assert cli(steel, "score") == 0
    out = capsys.readouterr().out
    assert "score steel-steel" in out and "public" in out and "private" in out
    folds = pd.read_csv(steel / "runs/steel/folds.csv", dtype=str)
    assert len(folds) == 24  # the unlisted images are trained on as empty masks
    sub_path = next((steel / "subs").glob("steel-steel-*.csv"))
    sub = pd.read_csv(sub_path, dtype=str, keep_default_na=False)
    sample = pd.read_csv(steel / "data/steel/sample_submission.csv", dtype=str)
    assert sub.columns.tolist() == sample.columns.tolist()
    assert sub["ImageId_ClassId"].tolist() == sample["ImageId_ClassId"].tolist()
    for cell in sub["EncodedPixels"]:
        assert decode(cell, (SIZE, SIZE)).shape == (SIZE, SIZE)
    assert cli(steel, "submit") == 0  # up to date: the same file
    assert sorted((steel / "subs").glob("steel-steel-*.csv")) == [sub_path]


def test_a_class_not_among_the_classes_names_its_row(steel, tmp_path, capsys):
    shutil.copytree(steel / "data", tmp_path / "data")
    shutil.copy(steel / "steel.yaml", tmp_path / "steel.yaml")
    path = tmp_path / "data/steel/train.csv"
    train = pd.read_csv(path, dtype=str)
    train.loc[2, "ClassId"] = "7"
    train.to_csv(path, index=False)
    assert cli(tmp_path, "folds") == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert "train.csv line 4, column ClassId: class '7' is not one of the classes 1, 2" in err


def test_export_then_predict_writes_the_long_submission_byte_for_byte(steel, tmp_path, monkeypatch):
    def no_wheel(dest: Path) -> Path:  # podium's wheel is built by the demo's export test
        dest.mkdir(parents=True, exist_ok=True)
        (dest / "podium-0-py3-none-any.whl").write_bytes(b"")
        return dest / "podium-0-py3-none-any.whl"

    monkeypatch.setattr("podium.stages.export.build_podium_wheel", no_wheel)
    assert cli(steel, "submit") == 0
    (submitted,) = sorted((steel / "subs").glob("steel-steel-*.csv"))
    assert cli(steel, "export", "--out", str(tmp_path / "made")) == 0
    bundle = (tmp_path / "made").rename(tmp_path / "moved")
    data = tmp_path / "hidden/steel"
    shutil.copytree(steel / "data/steel/test", data / "test")
    shutil.copy(steel / "data/steel/sample_submission.csv", data)
    out = tmp_path / "submission.csv"
    assert main(["predict", "--bundle", str(bundle), "--data", str(data), "--out", str(out)]) == 0
    assert out.read_bytes() == submitted.read_bytes()
