"""Ground-truth masks: tiny mask files written by OpenCV in the three file layouts, run-length
tables in Kaggle's two layouts, the stacked record, and the one-line errors naming the file,
line and sizes."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from podium.errors import ConfigError, DataError
from podium.segmentation import rle
from podium.segmentation.mask_files import MaskFiles, read_mask_image
from podium.segmentation.mask_table import read_mask_table
from podium.segmentation.masks import Masks, stack

A = np.array([[0, 1, 1], [0, 0, 1]], dtype=bool)  # 2 x 3
B = np.array([[1, 0, 0], [1, 0, 0]], dtype=bool)


def write(path: Path, pixels: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), pixels)
    return path


# ---- files --------------------------------------------------------------------------------


@pytest.mark.parametrize("scale", [255, 1])
def test_binary_png_of_0_255_or_0_1(tmp_path, scale):
    write(tmp_path / "m" / "a.png", A.astype(np.uint8) * scale)
    files = MaskFiles("m/{id}.png", "binary", ("car",), root=tmp_path)
    out = files.mask("a")
    assert out.shape == (1, 2, 3) and out.dtype == np.bool_
    np.testing.assert_array_equal(out[0], A)


def test_a_colour_file_with_equal_channels_and_a_16_bit_file_read_as_one_channel(tmp_path):
    write(tmp_path / "a.png", np.repeat(A.astype(np.uint8)[..., None] * 255, 3, axis=2))
    write(tmp_path / "b.png", B.astype(np.uint16))
    files = MaskFiles("{id}.png", "binary", ("x",), root=tmp_path)
    np.testing.assert_array_equal(files.mask("a")[0], A)
    np.testing.assert_array_equal(files.mask("b")[0], B)
    assert read_mask_image(tmp_path / "b.png").dtype == np.uint16


def test_an_index_mask_gives_one_plane_per_class(tmp_path):
    write(tmp_path / "a.png", np.array([[0, 1, 2], [3, 0, 2]], np.uint8))
    files = MaskFiles("{id}.png", "index", ("road", "car", "tree"), root=tmp_path)
    out = files.mask("a")
    assert out.shape == (3, 2, 3)
    np.testing.assert_array_equal(out[0], [[0, 1, 0], [0, 0, 0]])
    np.testing.assert_array_equal(out[1], [[0, 0, 1], [0, 0, 1]])
    np.testing.assert_array_equal(out[2], [[0, 0, 0], [1, 0, 0]])


def test_one_file_per_class(tmp_path):
    write(tmp_path / "a" / "1.png", A.astype(np.uint8) * 255)
    write(tmp_path / "a" / "2.png", B.astype(np.uint8) * 255)
    files = MaskFiles("{id}/{class}.png", "per_class", (1, 2), root=tmp_path)
    assert files.classes == ("1", "2")
    out = files.mask("a")
    np.testing.assert_array_equal(out[0], A)
    np.testing.assert_array_equal(out[1], B)


def test_a_mask_of_another_size_than_its_image_names_the_file_and_both_sizes(tmp_path):
    path = write(tmp_path / "a.png", A.astype(np.uint8) * 255)
    files = MaskFiles("{id}.png", "binary", ("x",), root=tmp_path, shapes={"a": (3, 2)})
    with pytest.raises(DataError, match="the mask is 2x3 but its image 'a' is 3x2") as err:
        files.mask("a")
    assert str(err.value).startswith(str(path))


def test_a_class_index_outside_the_classes(tmp_path):
    write(tmp_path / "a.png", np.array([[0, 1, 7], [2, 0, 0]], np.uint8))
    files = MaskFiles("{id}.png", "index", ("a", "b"), root=tmp_path)
    with pytest.raises(DataError, match="pixel value 7 is a class index outside the 2 classes"):
        files.mask("a")


def test_a_binary_file_with_other_values_is_refused(tmp_path):
    write(tmp_path / "a.png", np.array([[0, 128, 255], [0, 0, 3]], np.uint8))
    files = MaskFiles("{id}.png", "binary", ("x",), root=tmp_path)
    with pytest.raises(DataError, match="holds 0 and 255 \\(or 0 and 1\\); found 0, 3, 128, 255"):
        files.mask("a")


def test_a_missing_mask_file(tmp_path):
    write(tmp_path / "a.png", A.astype(np.uint8))
    files = MaskFiles("{id}.png", "binary", ("x",), root=tmp_path)
    with pytest.raises(DataError, match=f"mask file not found: {tmp_path / 'b.png'}"):
        files.mask("b")
    assert files.missing(["a", "b", "c"]) == [tmp_path / "b.png", tmp_path / "c.png"]
    with pytest.raises(DataError, match="b.png \\(and 1 more\\)"):
        files.check_exist(["a", "b", "c"])
    files.check_exist(["a"])


def test_a_corrupt_or_colour_mask_file(tmp_path):
    (tmp_path / "a.png").write_bytes(b"not a png")
    colour = np.zeros((2, 3, 3), np.uint8)
    colour[0, 0] = (255, 0, 0)
    write(tmp_path / "b.png", colour)
    files = MaskFiles("{id}.png", "binary", ("x",), root=tmp_path)
    with pytest.raises(DataError, match="a.png: not a readable image"):
        files.mask("a")
    with pytest.raises(DataError, match="b.png: a colour mask"):
        files.mask("b")


def test_per_class_files_of_different_sizes(tmp_path):
    write(tmp_path / "a_1.png", A.astype(np.uint8))
    write(tmp_path / "a_2.png", np.zeros((4, 4), np.uint8))
    files = MaskFiles("{id}_{class}.png", "per_class", ("1", "2"), root=tmp_path)
    with pytest.raises(DataError, match="differ in size: .*a_1.png is 2x3, .*a_2.png is 4x4"):
        files.mask("a")


@pytest.mark.parametrize(
    "template, layout, classes, message",
    [
        ("{id}.png", "binary", ("a", "b"), "holds one class, not 2"),
        ("masks.png", "binary", ("a",), "has no \\{id\\}"),
        ("{id}.png", "per_class", ("a",), "needs \\{class\\}"),
        ("{id}_{class}.png", "index", ("a",), "drop \\{class\\}"),
        ("{id}.png", "rgb", ("a",), "layout 'rgb' is not one of binary, index, per_class"),
        ("{id}.png", "index", (), "no classes"),
        ("{id}.png", "index", ("a", "a"), "class 'a' is named twice"),
    ],
)
def test_a_wrong_file_layout_is_a_config_error(template, layout, classes, message):
    with pytest.raises(ConfigError, match=message):
        MaskFiles(template, layout, classes)


def test_stack_files_into_the_record(tmp_path):
    write(tmp_path / "a.png", A.astype(np.uint8))
    write(tmp_path / "b.png", B.astype(np.uint8))
    write(tmp_path / "c.png", np.zeros((3, 3), np.uint8))
    files = MaskFiles("{id}.png", "binary", ("x",), root=tmp_path)
    masks = stack(files, ["b", "a"])
    assert masks.ids == ("b", "a") and masks.classes == ("x",)
    assert masks.masks.shape == (2, 1, 2, 3)
    np.testing.assert_array_equal(masks.masks[1, 0], A)
    with pytest.raises(DataError, match="image 'a' is 2x3, image 'c' is 3x3"):
        stack(files, ["a", "c"])


def test_the_record_checks_its_shape():
    with pytest.raises(ValueError, match="2 ids and 1 classes"):
        Masks(("a", "b"), ("x",), np.zeros((1, 1, 2, 2), bool))
    with pytest.raises(ValueError, match="bool"):
        Masks(("a",), ("x",), np.zeros((1, 1, 2, 2), np.uint8))


# ---- tables -------------------------------------------------------------------------------


def test_one_row_per_image():
    table = pd.DataFrame({"id": ["a", "b", "c"], "rle": [rle.encode(A), rle.encode(B), np.nan]})
    masks = read_mask_table(table, classes=("glom",), shapes=(2, 3))
    assert masks.ids == ("a", "b", "c")
    np.testing.assert_array_equal(masks.mask("a")[0], A)
    np.testing.assert_array_equal(masks.mask("b")[0], B)
    assert masks.mask("c").shape == (1, 2, 3) and not masks.mask("c").any()
    assert stack(masks, masks.ids).masks.shape == (3, 1, 2, 3)


def test_one_row_per_image_and_class_with_absent_classes_empty():
    # Severstal: ImageId, ClassId, EncodedPixels; only the defects are listed
    table = pd.DataFrame(
        {
            "ImageId": ["a.jpg", "a.jpg", "b.jpg"],
            "ClassId": [1, 3, 3],
            "EncodedPixels": [rle.encode(A), rle.encode(B), rle.encode(A)],
        }
    )
    masks = read_mask_table(
        table,
        classes=(1, 2, 3, 4),
        shapes=(2, 3),
        id_column="ImageId",
        class_column="ClassId",
        rle_column="EncodedPixels",
        ids=["a.jpg", "b.jpg", "c.jpg"],
    )
    a = masks.mask("a.jpg")
    assert a.shape == (4, 2, 3)
    np.testing.assert_array_equal(a[0], A)
    np.testing.assert_array_equal(a[2], B)
    assert not a[1].any() and not a[3].any()
    assert not masks.mask("c.jpg").any()  # an image without rows
    np.testing.assert_array_equal(masks.mask("b.jpg")[2], A)


def test_row_major_tables_and_sizes_per_image():
    big = np.zeros((3, 4), bool)
    big[1, 1:3] = True
    table = pd.DataFrame({"id": ["a", "b"], "rle": [rle.encode(A, rle.ROW_MAJOR), "6 2"]})
    masks = read_mask_table(
        table, classes=("cell",), shapes={"a": (2, 3), "b": (3, 4)}, convention=rle.ROW_MAJOR
    )
    np.testing.assert_array_equal(masks.mask("a")[0], A)
    np.testing.assert_array_equal(masks.mask("b")[0], big)


def test_float_class_values_and_instance_rows_united():
    # pandas reads an integer column with a blank as floats; Sartorius lists each cell
    table = pd.DataFrame({"id": ["a", "a"], "cls": [2.0, 2.0], "rle": ["1 1", "2 2"]})
    with pytest.raises(DataError, match="line 3: a second row of image 'a', class '2' .*line 2"):
        read_mask_table(table, classes=(1, 2), shapes=(2, 3), class_column="cls")
    masks = read_mask_table(
        table, classes=(1, 2), shapes=(2, 3), class_column="cls", union_rows=True
    )
    np.testing.assert_array_equal(masks.mask("a")[1], [[1, 1, 0], [1, 0, 0]])


@pytest.mark.parametrize(
    "column, value, message",
    [
        ("ClassId", 5, "train.csv line 3, column ClassId: class '5' is not one of the classes"),
        ("ClassId", np.nan, "train.csv line 3, column ClassId: no class"),
        ("EncodedPixels", "1 2 3", "train.csv line 3, column EncodedPixels: .*odd number"),
        ("EncodedPixels", "5 9", "train.csv line 3, column EncodedPixels: .*ends past"),
        ("ImageId", "z", "train.csv line 3, column ImageId: image 'z' is not one of the 2"),
    ],
)
def test_a_broken_row_names_its_line_and_column(column, value, message):
    table = pd.DataFrame(
        {"ImageId": ["a", "b"], "ClassId": [1, 2], "EncodedPixels": ["1 1", "2 1"]}
    )
    table[column] = table[column].astype(object)
    table.loc[1, column] = value
    with pytest.raises(DataError, match=message):
        read_mask_table(
            table,
            classes=(1, 2),
            shapes=(2, 3),
            id_column="ImageId",
            class_column="ClassId",
            rle_column="EncodedPixels",
            ids=["a", "b"],
        )


def test_a_missing_column_size_or_image():
    table = pd.DataFrame({"id": ["a"], "rle": ["1 1"]})
    with pytest.raises(DataError, match="train.csv has no column 'EncodedPixels'"):
        read_mask_table(table, classes=("x",), shapes=(2, 3), rle_column="EncodedPixels")
    with pytest.raises(DataError, match="no image size known for image 'a'"):
        read_mask_table(table, classes=("x",), shapes={"b": (2, 3)})
    with pytest.raises(ConfigError, match="without a class column holds one class"):
        read_mask_table(table, classes=("x", "y"), shapes=(2, 3))
    masks = read_mask_table(table, classes=("x",), shapes=(2, 3))
    with pytest.raises(DataError, match="image 'q' is not one of its images"):
        masks.mask("q")


def test_blank_cells_of_nullable_columns_are_empty_masks():
    table = pd.DataFrame(
        {
            "id": pd.array(["a", "b"], dtype="string"),
            "cls": pd.array([1, pd.NA], dtype="Int64"),
            "rle": pd.array(["1 1", pd.NA], dtype="string"),
        }
    )
    masks = read_mask_table(table.iloc[:1], classes=(1,), shapes=(2, 3), class_column="cls")
    assert masks.mask("a")[0].sum() == 1
    one_class = read_mask_table(table[["id", "rle"]], classes=("x",), shapes=(2, 3))
    assert not one_class.mask("b").any()
    with pytest.raises(DataError, match="line 3, column cls: no class"):
        read_mask_table(table, classes=(1,), shapes=(2, 3), class_column="cls")


def test_ragged_masks_resize_count_and_score_at_each_images_size():
    from podium.metrics.segmentation import image_dice, mean_dice
    from podium.segmentation.masks import areas, at_size, is_ragged, join_classes

    a = np.zeros((1, 4, 6), bool)
    a[0, :2, :3] = True
    b = np.ones((1, 8, 2), bool)
    y = np.empty(2, dtype=object)
    y[0], y[1] = a, b
    assert is_ragged(y) and areas(y).tolist() == [6, 16]
    small = at_size(y, (4, 4))
    assert small.shape == (2, 1, 4, 4) and small.dtype == np.uint8 and small[1].all()
    both = join_classes([y, y])
    assert both[0].shape == (2, 4, 6) and both[1].shape == (2, 8, 2)
    pred = np.empty(2, dtype=object)
    pred[0], pred[1] = a, np.zeros((1, 8, 2), bool)
    assert image_dice(y, pred).tolist() == [1.0, 0.0] and mean_dice(y, pred) == 0.5
