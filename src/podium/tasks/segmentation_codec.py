"""Segmentation's capabilities beside its core: the run-length submission codec (one cell per
(image, class), an empty mask an empty cell), the folds' stratification key (empty or not,
then the mask's area in quantile bins) and the validation loss of probability maps.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from podium.segmentation.masks import areas
from podium.segmentation.rle import RleConvention, decode, encode, parse
from podium.tasks.capabilities import FoldScheme, SubmissionCodec

AREA_BINS = 3  # non-empty masks are split into this many area quantiles


class RleCodec(SubmissionCodec):
    """Decided masks <-> run-length cells, one column per class: `rle_columns[j]` holds class
    j (the sample submission may order them otherwise). `shape_of(id)` gives a test image's
    (height, width)."""

    allows_empty = True

    def __init__(
        self,
        convention: RleConvention,
        shape_of: Callable[[str], tuple[int, int]],
        id_column: str = "id",
        rle_columns: tuple[str, ...] = ("rle",),
    ) -> None:
        self.convention = convention
        self.shape_of = shape_of
        self.id_column = id_column
        self.rle_columns = rle_columns

    def _class_of(self, column: str, position: int) -> int:
        return self.rle_columns.index(column) if column in self.rle_columns else position

    def values(self, pred: Any, columns: list[str]) -> dict[str, np.ndarray]:
        """`pred`: a sequence of (C, H, W) bool masks, one per submission row."""
        out = {}
        for position, column in enumerate(columns):
            j = self._class_of(column, position)
            out[column] = np.array([encode(m[j], self.convention) for m in pred], dtype=object)
        return out

    def check_column(self, values: pd.Series, column: str, source: str) -> None:
        for row, cell in enumerate(values.tolist()):
            # the syntax and order of the runs; the image's size is checked when scored
            parse(cell, 2**62, self.convention, f"{source} line {row + 2}, column {column}")

    def predictions(self, sub: pd.DataFrame, columns: list[str]) -> np.ndarray:
        """A submission's masks, (N, C, H, W) bool in class order, each image at its own
        size: ragged (an (N,) object array of (C, H_i, W_i)) where the sizes differ."""
        ids = sub[self.id_column].astype(str).tolist()
        columns = sorted(columns, key=lambda c: self._class_of(c, columns.index(c)))
        masks = [
            np.stack(
                [
                    decode(
                        sub[column].iloc[row],
                        self.shape_of(image_id),
                        self.convention,
                        f"submission line {row + 2}, column {column} (image {image_id!r})",
                    )
                    for column in columns
                ]
            )
            for row, image_id in enumerate(ids)
        ]
        if len({m.shape for m in masks}) > 1:  # images of several sizes: ragged masks
            out = np.empty(len(masks), dtype=object)
            for i, m in enumerate(masks):
                out[i] = m
            return out
        return np.stack(masks) if masks else np.zeros((0, len(columns), 1, 1), bool)


class MaskFolds(FoldScheme):
    """Stratified by empty / non-empty masks and, among the non-empty, by area quantiles."""

    def stratify_key(self, y: np.ndarray) -> np.ndarray:
        area = areas(y)  # dense or ragged masks
        key = np.zeros(len(y), np.int64)
        full = area > 0
        if full.sum() >= AREA_BINS:
            edges = np.quantile(area[full], np.linspace(0, 1, AREA_BINS + 1)[1:-1])
            key[full] = 1 + np.searchsorted(edges, area[full], side="right")
        else:
            key[full] = 1
        return key

    def describe_stratum(self, key: Any) -> str:
        return "empty masks" if int(key) == 0 else f"masks of area bin {int(key)}"


def pixel_log_loss(y: np.ndarray, pred: np.ndarray) -> float:
    """Mean per-pixel binary log-loss of probability maps against 0/1 masks."""
    p = np.clip(np.asarray(pred, np.float64), 1e-7, 1 - 1e-7)
    t = np.asarray(y, np.float64)
    return float(-(t * np.log(p) + (1 - t) * np.log(1 - p)).mean())
