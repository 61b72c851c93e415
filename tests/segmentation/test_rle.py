"""Kaggle's run-length codec: hand-written masks against the strings worked out by hand, both
pixel orders, round trips on random masks, the empty conventions and the one-line errors."""

from __future__ import annotations

import numpy as np
import pytest

from podium.errors import ConfigError, DataError
from podium.segmentation import rle
from podium.segmentation.rle import COLUMN_MAJOR, ROW_MAJOR, RleConvention

# 3 x 4, numbered 1-based
#   column-major          row-major
#    1  4  7 10            1  2  3  4
#    2  5  8 11            5  6  7  8
#    3  6  9 12            9 10 11 12
MASK = np.array(
    [
        [0, 1, 1, 0],
        [0, 1, 0, 0],
        [0, 0, 0, 1],
    ],
    dtype=bool,
)


def test_a_hand_mask_column_major():
    assert rle.encode(MASK, COLUMN_MAJOR) == "4 2 7 1 12 1"


def test_a_hand_mask_row_major_differs():
    assert rle.encode(MASK, ROW_MAJOR) == "2 2 6 1 12 1"
    assert rle.encode(MASK, ROW_MAJOR) != rle.encode(MASK, COLUMN_MAJOR)


def test_zero_indexed_starts_are_one_less():
    assert rle.encode(MASK, RleConvention(0, "column")) == "3 2 6 1 11 1"
    assert rle.encode(MASK, RleConvention(0, "row")) == "1 2 5 1 11 1"


@pytest.mark.parametrize(
    "text, convention",
    [
        ("4 2 7 1 12 1", COLUMN_MAJOR),
        ("2 2 6 1 12 1", ROW_MAJOR),
        ("3 2 6 1 11 1", RleConvention(0, "column")),
        ("1 2 5 1 11 1", RleConvention(0, "row")),
    ],
)
def test_the_hand_strings_decode_to_the_mask(text, convention):
    out = rle.decode(text, (3, 4), convention)
    assert out.dtype == np.bool_ and out.shape == (3, 4) and out.flags.c_contiguous
    np.testing.assert_array_equal(out, MASK)


def test_a_run_crosses_columns_in_column_order_and_rows_in_row_order():
    # pixels 3 and 4: the bottom of column 0 and the top of column 1 / the end of row 0
    np.testing.assert_array_equal(
        rle.decode("3 2", (3, 4), COLUMN_MAJOR), [[0, 1, 0, 0], [0, 0, 0, 0], [1, 0, 0, 0]]
    )
    np.testing.assert_array_equal(
        rle.decode("4 2", (3, 4), ROW_MAJOR), [[0, 0, 0, 1], [1, 0, 0, 0], [0, 0, 0, 0]]
    )


def test_full_and_edge_pixels():
    full = np.ones((2, 3), bool)
    assert rle.encode(full) == "1 6" and rle.encode(full, ROW_MAJOR) == "1 6"
    corners = np.zeros((2, 3), bool)
    corners[0, 0] = corners[1, 2] = True
    assert rle.encode(corners) == "1 1 6 1"
    np.testing.assert_array_equal(rle.decode("1 1 6 1", (2, 3)), corners)


def test_integer_masks_count_any_nonzero_pixel():
    assert rle.encode(MASK.astype(np.uint8) * 255) == "4 2 7 1 12 1"


def test_touching_runs_decode_and_re_encode_merged():
    out = rle.decode("1 2 3 2", (2, 3))
    assert out.sum() == 4
    assert rle.encode(out) == "1 4"


@pytest.mark.parametrize("order", ["column", "row"])
@pytest.mark.parametrize("shape", [(1, 1), (1, 7), (7, 1), (37, 53), (64, 64)])
def test_random_masks_round_trip(order, shape):
    rng = np.random.default_rng(sum(shape))
    for density in (0.0, 0.05, 0.5, 0.95, 1.0):
        mask = rng.random(shape) < density
        conv = RleConvention(1, order)
        text = rle.encode(mask, conv)
        np.testing.assert_array_equal(rle.decode(text, shape, conv), mask)
        zero = RleConvention(0, order)
        np.testing.assert_array_equal(rle.decode(rle.encode(mask, zero), shape, zero), mask)


def test_column_order_is_row_order_of_the_transpose():
    mask = np.random.default_rng(0).random((13, 29)) < 0.3
    assert rle.encode(mask, COLUMN_MAJOR) == rle.encode(mask.T, ROW_MAJOR)


def test_runs_are_start_length_pairs():
    np.testing.assert_array_equal(rle.runs(MASK), [[4, 2], [7, 1], [12, 1]])
    assert rle.runs(np.zeros((2, 2))).shape == (0, 2)


@pytest.mark.parametrize("cell", ["", "   ", None, float("nan"), np.float64("nan")])
def test_empty_cells_are_empty_masks(cell):
    out = rle.decode(cell, (2, 3))
    assert out.shape == (2, 3) and not out.any()


def test_an_empty_mask_is_the_empty_string_or_the_conventions_token():
    empty = np.zeros((4, 5), bool)
    assert rle.encode(empty) == ""
    assert rle.encode(empty, rle.SIIM) == "-1"
    assert not rle.decode("-1", (4, 5), rle.SIIM).any()
    assert not rle.decode(" -1 ", (4, 5), rle.SIIM).any()
    with pytest.raises(DataError, match="odd number"):
        rle.decode("-1", (4, 5), COLUMN_MAJOR)  # "-1" is not empty where "" is


def test_presets():
    assert rle.preset("severstal") == RleConvention(1, "column")
    assert rle.preset("clouds") == rle.preset("hubmap") == COLUMN_MAJOR
    assert rle.preset("sartorius") == rle.preset("carvana") == RleConvention(1, "row")
    assert rle.preset("siim").empty == "-1"
    with pytest.raises(ConfigError, match="unknown run-length convention 'nope'; one of"):
        rle.preset("nope")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"start": 2}, "start must be 0 or 1"),
        ({"order": "diagonal"}, "order must be 'column' or 'row'"),
        ({"empty": "a b"}, "one token"),
    ],
)
def test_a_wrong_convention_is_a_config_error(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        RleConvention(**kwargs)


WHERE = "train.csv line 17, column EncodedPixels"


@pytest.mark.parametrize(
    "text, message",
    [
        ("1 2 3", "odd number of numbers \\(3\\)"),
        ("1 2 x 1", "token 'x' is not an integer"),
        ("1 2 5 1.5", "token '1.5' is not an integer"),
        ("1 2 99999999999999999999 1", "token '99999999999999999999' is not an integer"),
        ("1 0", "run 1 \\(start 1, length 0\\) has a length under 1"),
        ("1 2 5 -1", "run 2 \\(start 5, length -1\\) has a length under 1"),
        ("0 2", "run 1 \\(start 0, length 2\\) starts before the first pixel, 1"),
        ("5 3", "run 1 \\(start 5, length 3\\) ends past the image's last pixel \\(6 pixels\\)"),
        ("7 1", "ends past the image's last pixel"),
        ("4 1 1 1", "run 2 \\(start 1, length 1\\) starts before run 1 \\(start 4, length 1\\)"),
        ("1 3 2 2", "run 2 \\(start 2, length 2\\) overlaps run 1 \\(start 1, length 3\\)"),
    ],
)
def test_a_broken_string_is_a_one_line_data_error_naming_where(text, message):
    with pytest.raises(DataError, match=message) as err:
        rle.decode(text, (2, 3), COLUMN_MAJOR, where=WHERE)
    assert str(err.value).startswith(WHERE + ": ")
    assert "\n" not in str(err.value)


def test_a_cell_that_is_not_text_is_a_data_error():
    with pytest.raises(DataError, match="must be text, got int 7"):
        rle.decode(7, (2, 3), where=WHERE)


def test_zero_indexed_start_zero_is_the_first_pixel():
    conv = RleConvention(0, "row")
    np.testing.assert_array_equal(rle.decode("0 1", (1, 2), conv), [[True, False]])
    with pytest.raises(DataError, match="ends past"):
        rle.decode("2 1", (1, 2), conv)


@pytest.mark.parametrize("shape", [(0, 3), (2,), (2, -1), (1.5, 2)])
def test_a_bad_shape_is_a_programming_error(shape):
    with pytest.raises(ValueError, match="height, width"):
        rle.decode("", shape)


def test_encode_wants_a_2d_mask():
    with pytest.raises(ValueError, match="2-D mask"):
        rle.encode(np.zeros((2, 2, 2)))


def test_the_codec_imports_numpy_and_podium_errors_only():
    import ast
    from pathlib import Path

    tree = ast.parse(Path(rle.__file__).read_text())
    imported = {
        n.module if isinstance(n, ast.ImportFrom) else a.name
        for n in ast.walk(tree)
        if isinstance(n, ast.Import | ast.ImportFrom)
        for a in n.names
    }
    assert imported <= {"__future__", "math", "dataclasses", "typing", "numpy", "podium.errors"}


def test_extra_whitespace_between_tokens_is_accepted():
    np.testing.assert_array_equal(rle.decode("  4 2\t 7  1 12 1 \n", (3, 4)), MASK)
