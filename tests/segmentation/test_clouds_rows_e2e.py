"""Understanding Clouds' combined-column layout end to end through the CLI: the tiny
segmentation demo rewritten as Clouds' tables (train.csv `Image_Label, EncodedPixels` with
`<image>.jpg_<Class>` labels, every (image, class) pair listed, a blank cell an empty mask;
JPEG images; sample_submission and solution in the same layout, the sample's rows in another
image order than the folder's), three classes, trained 1 epoch at 32 px: folds -> train ->
oof -> infer -> submit -> score, the submission written in the sample's rows, order and
columns; `podium predict --bundle` writes the same file byte for byte."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
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
CLASSES = ("Fish", "Flower", "Gravel")
READ = {"dtype": str, "keep_default_na": False}

CONFIG = """extends: {unet}
competition:
  name: clouds
  id_column: Image
  classes: [Fish, Flower, Gravel]
  rle: {{order: column, start: 1}}
  test_csv: null
  solution: solution.csv
  train_images: train_images/{{id}}
  test_images: test_images/{{id}}
  rle_rows:
    image_label: Image_Label
    separator: "_"
    rle: EncodedPixels
"""


def masks_of(cell: str) -> list[np.ndarray]:
    """The demo's one mask as three classes: the digit, its left half, its bottom half
    (each empty where the digit is absent from that half)."""
    digit = decode(cell, (SIZE, SIZE))
    left, bottom = digit.copy(), digit.copy()
    left[:, SIZE // 2 :] = False
    bottom[: SIZE // 2] = False
    return [digit, left, bottom]


def long_rows(table: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for image_id, cell in zip(table["id"], table["rle"], strict=True):
        for cls, mask in zip(CLASSES, masks_of(cell), strict=True):
            rows.append({"Image_Label": f"{image_id}.jpg_{cls}", "EncodedPixels": encode(mask)})
    return pd.DataFrame(rows)


def to_jpeg(source: Path, dest: Path) -> None:
    dest.mkdir(parents=True)
    for png in sorted(source.glob("*.png")):
        cv2.imwrite(str(dest / f"{png.stem}.jpg"), cv2.imread(str(png)))


@pytest.fixture(scope="module")
def clouds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("clouds")
    demo = write_segmentation_demo(tmp / "demo", size=SIZE, n_train=24, n_test=8)
    root = tmp / "data/clouds"
    to_jpeg(demo / "train", root / "train_images")
    to_jpeg(demo / "test", root / "test_images")
    long_rows(pd.read_csv(demo / "train.csv", **READ)).to_csv(root / "train.csv", index=False)
    solution = pd.read_csv(demo / "solution.csv", **READ).iloc[::-1]  # another image order
    truth = long_rows(solution)
    usage = dict(zip(solution["id"] + ".jpg", solution["Usage"], strict=True))
    truth["Usage"] = truth["Image_Label"].str.rsplit("_", n=1).str[0].map(usage)
    truth.to_csv(root / "solution.csv", index=False)
    truth[["Image_Label"]].assign(EncodedPixels="1 1").to_csv(
        root / "sample_submission.csv", index=False
    )
    (tmp / "clouds.yaml").write_text(CONFIG.format(unet=UNET))
    return tmp


def cli(tmp: Path, *args: str) -> int:
    return main(
        [
            *args,
            "-c",
            str(tmp / "clouds.yaml"),
            *tiny_mask_overrides(tmp, SIZE),
            "infer.tta=[identity]",
        ]
    )


def test_a_clouds_layout_trains_submits_and_scores(clouds, capsys):
    train = pd.read_csv(clouds / "data/clouds/train.csv", **READ)
    assert len(train) == 3 * 24 and (train["EncodedPixels"] == "").sum() > 0  # some empty
    assert cli(clouds, "score") == 0
    out = capsys.readouterr().out
    assert "score clouds-clouds" in out and "public" in out and "private" in out
    folds = pd.read_csv(clouds / "runs/clouds/folds.csv", **READ)
    assert len(folds) == 24 and folds["id"].str.endswith(".jpg").all()
    (sub_path,) = sorted((clouds / "subs").glob("clouds-clouds-*.csv"))
    sub = pd.read_csv(sub_path, **READ)
    sample = pd.read_csv(clouds / "data/clouds/sample_submission.csv", **READ)
    assert sub.columns.tolist() == sample.columns.tolist() == ["Image_Label", "EncodedPixels"]
    assert sub["Image_Label"].tolist() == sample["Image_Label"].tolist()  # rows and order
    for cell in sub["EncodedPixels"]:
        assert decode(cell, (SIZE, SIZE)).shape == (SIZE, SIZE)
    # the solution as a submission scores 1 on every part
    truth = pd.read_csv(clouds / "data/clouds/solution.csv", **READ)
    perfect = clouds / "perfect.csv"
    truth[["Image_Label", "EncodedPixels"]].to_csv(perfect, index=False)
    assert cli(clouds, "score", "--submission", str(perfect)) == 0
    assert "dice  all 1.0000  public 1.0000  private 1.0000" in capsys.readouterr().out


def test_export_then_predict_writes_the_clouds_submission_byte_for_byte(
    clouds, tmp_path, monkeypatch
):
    def no_wheel(dest: Path) -> Path:  # podium's wheel is built by the demo's export test
        dest.mkdir(parents=True, exist_ok=True)
        (dest / "podium-0-py3-none-any.whl").write_bytes(b"")
        return dest / "podium-0-py3-none-any.whl"

    monkeypatch.setattr("podium.stages.export.build_podium_wheel", no_wheel)
    assert cli(clouds, "submit") == 0
    (submitted,) = sorted((clouds / "subs").glob("clouds-clouds-*.csv"))
    assert cli(clouds, "export", "--out", str(tmp_path / "made")) == 0
    data = tmp_path / "hidden/clouds"
    shutil.copytree(clouds / "data/clouds/test_images", data / "test_images")
    shutil.copy(clouds / "data/clouds/sample_submission.csv", data)
    out = tmp_path / "submission.csv"
    bundle = str(tmp_path / "made")
    assert main(["predict", "--bundle", bundle, "--data", str(data), "--out", str(out)]) == 0
    assert out.read_bytes() == submitted.read_bytes()
