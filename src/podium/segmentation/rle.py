"""Kaggle's run-length encoding of one binary mask, both ways: `encode(mask, convention)` ->
`"start length start length ..."`, `decode(rle, shape, convention)` -> (H, W) bool.

The pixels are numbered along the flattened mask; a run is its first pixel's number and its
length. Competitions differ in two things, which `RleConvention` names:

    start   the number of the first pixel: 1 (every Kaggle competition below) or 0
    order   "column": down each column, then the next column (Fortran order: pixel 2 is
            (row 1, column 0)); "row": along each row (C order: pixel 2 is (row 0, column 1))

Presets (`PRESETS`, by name), as the competitions' public encoders and decoders number pixels:

    column, 1-indexed   severstal, clouds (Understanding Clouds), siim (SIIM-ACR
                        Pneumothorax stage 2, whose empty mask is written "-1"),
                        hubmap (Hacking the Kidney and HuBMAP+HPA: decoders transpose),
                        dsb2018, airbus
    row, 1-indexed      carvana (train_masks.csv decodes with a C-order reshape to
                        1280 x 1918), sartorius, uwmadison

An empty mask is the empty string (or the convention's `empty`, e.g. SIIM's "-1"); reading,
an empty or whitespace string, None, NaN (a blank CSV cell) and `empty` are all empty masks.

Decoding checks the string and names `where` (the caller's "train.csv line 17, column
EncodedPixels") in a one-line DataError: an odd count of numbers, a token that is not an
integer, a start before the first pixel, a length under 1, a run past the image's end, runs
out of order or overlapping. Runs that touch are accepted (a re-encode merges them).

Vectorised: encode finds the runs as the changes of the flattened mask padded with a zero at
both ends; decode marks +1 at each start and -1 at each end and takes the cumulative sum.
Imports numpy and podium.errors only, so that a task's submission codec may use it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from podium.errors import ConfigError, DataError

Order = Literal["column", "row"]


@dataclass(frozen=True)
class RleConvention:
    """How a competition numbers pixels (see the module docstring)."""

    start: Literal[0, 1] = 1
    order: Order = "column"
    empty: str = ""  # how an empty mask is written

    def __post_init__(self) -> None:
        if self.start not in (0, 1):
            raise ConfigError(f"run-length start must be 0 or 1, not {self.start!r}")
        if self.order not in ("column", "row"):
            raise ConfigError(f"run-length order must be 'column' or 'row', not {self.order!r}")
        if self.empty.split() not in ([], [self.empty]):
            raise ConfigError(f"run-length empty mask must be one token, not {self.empty!r}")

    @property
    def numpy_order(self) -> Literal["F", "C"]:
        return "F" if self.order == "column" else "C"


COLUMN_MAJOR = RleConvention(1, "column")
ROW_MAJOR = RleConvention(1, "row")
SIIM = RleConvention(1, "column", empty="-1")

PRESETS: dict[str, RleConvention] = {
    "column": COLUMN_MAJOR,
    "row": ROW_MAJOR,
    "severstal": COLUMN_MAJOR,
    "clouds": COLUMN_MAJOR,
    "siim": SIIM,
    "hubmap": COLUMN_MAJOR,
    "dsb2018": COLUMN_MAJOR,
    "airbus": COLUMN_MAJOR,
    "carvana": ROW_MAJOR,
    "sartorius": ROW_MAJOR,
    "uwmadison": ROW_MAJOR,
}


def preset(name: str) -> RleConvention:
    """The convention of a preset name (a config value), or a ConfigError listing them."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigError(
            f"unknown run-length convention {name!r}; one of {', '.join(sorted(PRESETS))}"
        ) from None


def runs(mask: np.ndarray, convention: RleConvention = COLUMN_MAJOR) -> np.ndarray:
    """The (R, 2) int64 array of (start, length) of the mask's runs, starts numbered from
    `convention.start`. Any non-zero pixel is foreground."""
    m = np.asarray(mask)
    if m.ndim != 2:
        raise ValueError(f"run-length encodes a 2-D mask, got shape {m.shape}")
    flat = m.ravel(order=convention.numpy_order)
    padded = np.zeros(flat.size + 2, dtype=np.int8)
    padded[1:-1] = flat != 0
    changes = np.flatnonzero(padded[1:] != padded[:-1])  # pairs of (start, end), 0-based
    out = changes.reshape(-1, 2).astype(np.int64)
    out[:, 1] -= out[:, 0]
    out[:, 0] += convention.start
    return out


def encode(mask: np.ndarray, convention: RleConvention = COLUMN_MAJOR) -> str:
    """The mask's run-length string; `convention.empty` for a mask without foreground."""
    r = runs(mask, convention)
    if not len(r):
        return convention.empty
    return " ".join(map(str, r.ravel().tolist()))


def is_empty_cell(rle: object, convention: RleConvention = COLUMN_MAJOR) -> bool:
    """Does this table cell mean an empty mask: None, NaN, blank or `convention.empty`?"""
    if rle is None:
        return True
    if isinstance(rle, float | np.floating) and math.isnan(rle):
        return True
    if isinstance(rle, str):
        s = rle.strip()
        return not s or s == convention.empty
    return False


def parse(
    rle: object, size: int, convention: RleConvention = COLUMN_MAJOR, where: str = "run-length"
) -> tuple[np.ndarray, np.ndarray]:
    """The checked 0-based (starts, ends) of a run-length cell on an image of `size` pixels."""
    if is_empty_cell(rle, convention):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    if not isinstance(rle, str):
        raise DataError(f"{where}: run-length must be text, got {type(rle).__name__} {rle!r}")
    tokens = rle.split()
    if len(tokens) % 2:
        raise DataError(
            f"{where}: run-length has an odd number of numbers ({len(tokens)}); "
            "it is pairs of start and length"
        )
    try:
        values = np.array(tokens, dtype=np.int64)
    except (ValueError, OverflowError):
        bad = next(t for t in tokens if not _is_int(t))
        raise DataError(f"{where}: run-length token {bad!r} is not an integer") from None
    starts, lengths = values[0::2] - convention.start, values[1::2]
    ends = starts + lengths
    _check(starts, lengths, ends, size, convention, where)
    return starts, ends


def _is_int(token: str) -> bool:
    try:
        int(token)
    except ValueError:
        return False
    return abs(int(token)) < 2**63


def _check(
    starts: np.ndarray,
    lengths: np.ndarray,
    ends: np.ndarray,
    size: int,
    convention: RleConvention,
    where: str,
) -> None:
    def run(i: int) -> str:
        return f"run {i + 1} (start {starts[i] + convention.start}, length {lengths[i]})"

    if (bad := np.flatnonzero(lengths < 1)).size:
        raise DataError(f"{where}: {run(bad[0])} has a length under 1")
    if (bad := np.flatnonzero(starts < 0)).size:
        raise DataError(f"{where}: {run(bad[0])} starts before the first pixel, {convention.start}")
    if (bad := np.flatnonzero(ends > size)).size:
        raise DataError(f"{where}: {run(bad[0])} ends past the image's last pixel ({size} pixels)")
    if (bad := np.flatnonzero(starts[1:] < starts[:-1])).size:
        raise DataError(f"{where}: {run(bad[0] + 1)} starts before {run(bad[0])}; runs are sorted")
    if (bad := np.flatnonzero(starts[1:] < ends[:-1])).size:
        raise DataError(f"{where}: {run(bad[0] + 1)} overlaps {run(bad[0])}")


def checked_shape(shape: tuple[int, int]) -> tuple[int, int]:
    if len(shape) != 2 or any(int(n) != n or n < 1 for n in shape):
        raise ValueError(f"a mask shape is (height, width) of positive integers, got {shape}")
    return int(shape[0]), int(shape[1])


def decode(
    rle: object,
    shape: tuple[int, int],
    convention: RleConvention = COLUMN_MAJOR,
    where: str = "run-length",
) -> np.ndarray:
    """The (height, width) bool mask of a run-length cell (see `is_empty_cell`)."""
    height, width = checked_shape(shape)
    starts, ends = parse(rle, height * width, convention, where)
    return paint(starts, ends, (height, width), convention)


def paint(
    starts: np.ndarray, ends: np.ndarray, shape: tuple[int, int], convention: RleConvention
) -> np.ndarray:
    """The (height, width) bool mask of checked 0-based runs (`parse`'s)."""
    height, width = shape
    size = height * width
    marks = np.zeros(size + 1, dtype=np.int8)
    marks[starts] = 1  # starts are distinct, ends are distinct: plain assignment suffices
    marks[ends] -= 1  # a run that starts where the previous one ends nets 0 there
    flat = np.cumsum(marks[:-1], dtype=np.int8).view(np.bool_)
    return np.ascontiguousarray(flat.reshape((height, width), order=convention.numpy_order))
