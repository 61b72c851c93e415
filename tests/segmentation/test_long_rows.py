"""Long run-length tables (one row per (image, class)) read into one row per image and
written back in a long sample's layout: Severstal's and Clouds' layouts on hand-made tables,
the bad rows named by line, and the config keys checked when the config is read."""

from __future__ import annotations

import pandas as pd
import pytest

from podium.config import load_config
from podium.errors import ConfigError, DataError
from podium.segmentation.long_rows import LongLayout, listed_images, to_long, to_wide
from podium.segmentation.rle import COLUMN_MAJOR

SEVERSTAL = LongLayout(rle="EncodedPixels", image="ImageId", class_column="ClassId")
CLOUDS = LongLayout(rle="EncodedPixels", image_label="Image_Label", separator="_")
CLASSES = ["1", "2", "3"]


def wide(table: pd.DataFrame, layout: LongLayout = SEVERSTAL, **kw) -> pd.DataFrame:
    kw.setdefault("classes", CLASSES)
    classes = kw.pop("classes")
    return to_wide(table, layout, classes, classes, "ImageId", COLUMN_MAJOR, "train.csv", **kw)


def test_severstal_rows_become_one_row_per_image_and_unlisted_images_are_empty():
    table = pd.DataFrame(
        {
            "ImageId": ["a.jpg", "a.jpg", "b.jpg"],
            "ClassId": ["3", "1.0", "2"],  # 1.0: pandas' float of an integer column
            "EncodedPixels": ["1 2", "5 1", "7 3"],
        }
    )
    out = wide(table, extra_images=["c.jpg", "a.jpg"])
    assert out.columns.tolist() == ["ImageId", "1", "2", "3"]
    assert out.to_dict("records") == [
        {"ImageId": "a.jpg", "1": "5 1", "2": "", "3": "1 2"},
        {"ImageId": "b.jpg", "1": "", "2": "7 3", "3": ""},
        {"ImageId": "c.jpg", "1": "", "2": "", "3": ""},
    ]


def test_a_row_without_class_and_runs_lists_an_image_without_masks():
    table = pd.DataFrame(
        {"ImageId": ["a.jpg", "b.jpg"], "ClassId": ["", "2"], "EncodedPixels": ["", "4 2"]}
    )
    out = wide(table)
    assert out.values.tolist() == [["a.jpg", "", "", ""], ["b.jpg", "", "4 2", ""]]
    with pytest.raises(DataError, match="line 2, column ClassId: class ''"):
        wide(table.assign(EncodedPixels=["1 1", "4 2"]))  # runs need a class


def test_clouds_labels_split_at_the_class_they_end_with():
    classes = ["Fish", "Sugar"]
    table = pd.DataFrame(
        {
            "Image_Label": ["x_1.jpg_Fish", "x_1.jpg_Sugar", "y.jpg_Fish", "y.jpg_Sugar"],
            "EncodedPixels": ["1 4", float("nan"), "", "2 2"],
            "Usage": ["Public", "Public", "Private", "Private"],
        }
    )
    out = wide(table, CLOUDS, classes=classes)
    assert out["ImageId"].tolist() == ["x_1.jpg", "y.jpg"]
    assert out["Fish"].tolist() == ["1 4", ""] and out["Sugar"].tolist() == ["", "2 2"]
    assert out["Usage"].tolist() == ["Public", "Private"]  # a solution's parts survive
    back = to_long(out, table, CLOUDS, classes, classes, "ImageId", "sample.csv")
    assert back.columns.tolist() == table.columns.tolist()
    assert back["Image_Label"].tolist() == table["Image_Label"].tolist()
    assert back["EncodedPixels"].tolist() == ["1 4", "", "", "2 2"]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (
            {"ImageId": ["a", "b"], "ClassId": ["1", "5"]},
            "train.csv line 3, column ClassId: class '5'",
        ),
        (
            {"ImageId": ["a", "a"], "ClassId": ["2", "2"]},
            "train.csv line 3: a second row of image 'a', class '2' (the first is line 2)",
        ),
    ],
)
def test_a_bad_row_is_named_by_line(rows, message):
    table = pd.DataFrame({**rows, "EncodedPixels": ["1 1", "2 1"]})
    with pytest.raises(DataError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        wide(table)


def test_a_label_ending_in_no_class_is_named():
    table = pd.DataFrame({"Image_Label": ["a.jpg_Fish", "b.jpg_Cat"], "EncodedPixels": ["", ""]})
    with pytest.raises(DataError, match="line 3, column Image_Label: 'b.jpg_Cat' does not end"):
        wide(table, CLOUDS, classes=["Fish"])


def test_a_missing_column_is_named():
    with pytest.raises(DataError, match="has no column 'ClassId'"):
        wide(pd.DataFrame({"ImageId": ["a"], "EncodedPixels": [""]}))


def test_to_long_keeps_the_sample_order_and_names_an_unpredicted_image():
    sample = pd.DataFrame({"ImageId_ClassId": ["b_2", "a_1", "b_1", "a_2"], "EncodedPixels": ""})
    layout = LongLayout(rle="EncodedPixels", image_label="ImageId_ClassId")
    sub = pd.DataFrame({"ImageId": ["a", "b"], "1": ["1 1", ""], "2": ["", "3 2"]})
    out = to_long(sub, sample, layout, ["1", "2"], ["1", "2"], "ImageId", "sample.csv")
    assert out.values.tolist() == [["b_2", "3 2"], ["a_1", "1 1"], ["b_1", ""], ["a_2", ""]]
    with pytest.raises(DataError, match="sample.csv line 2: image 'b' was not predicted"):
        to_long(sub.iloc[:1], sample, layout, ["1", "2"], ["1", "2"], "ImageId", "sample.csv")


def test_listed_images_follow_the_template(tmp_path):
    (tmp_path / "train").mkdir()
    for name in ("b.jpg", "a.jpg", "notes.txt"):
        (tmp_path / "train" / name).write_bytes(b"")
    assert listed_images(tmp_path, "train/{id}") == ["a.jpg", "b.jpg", "notes.txt"]
    assert listed_images(tmp_path, "train/{id}.jpg") == ["a", "b"]
    with pytest.raises(ConfigError, match="rle_rows.unlisted"):
        listed_images(tmp_path, "train/{patient}/{id}.jpg")


BASE = """
competition:
  name: sev
  task: segmentation
  id_column: ImageId
  classes: ["1", "2"]
  rle_rows: {rows}
model: {{arch: unet, name: resnet10t}}
"""


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("{image: ImageId, rle: EncodedPixels}", "competition.rle_rows: class is missing"),
        ("{image: I, class: C, image_label: L}", "competition.rle_rows: name either image"),
        ("{rle: EncodedPixels}", "competition.rle_rows: name the columns"),
        ("{image: I, class: C, unlisted: maybe}", "competition.rle_rows.unlisted"),
        ("{image: I, class: C, colour: red}", "unknown key 'competition.rle_rows.colour'"),
    ],
)
def test_rle_rows_keys_are_checked_when_the_config_is_read(tmp_path, rows, message):
    path = tmp_path / "c.yaml"
    path.write_text(BASE.format(rows=rows))
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        load_config(path)


def test_rle_rows_need_classes(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(BASE.format(rows="{image: I, class: C}").replace('classes: ["1", "2"]', ""))
    with pytest.raises(ConfigError, match="rle_rows needs classes"):
        load_config(path)
    path.write_text(BASE.format(rows="{image_label: L, submission: {image_label: IC}}"))
    cfg = load_config(path).competition
    assert cfg.rle_rows is not None and cfg.rle_rows.submission_layout.image_label == "IC"
    assert cfg.rle_rows.submission_layout.rle == "EncodedPixels"
