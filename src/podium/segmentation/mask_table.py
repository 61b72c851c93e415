"""Ground-truth masks stored as run-length rows of a table, in Kaggle's two layouts:

    one row per image             `id, rle` (HuBMAP's `id, encoding`); one class
    one row per (image, class)    `ImageId, ClassId, EncodedPixels` (Severstal); a class
                                  an image has no row for is empty there

`union_rows=True` reads several rows of one (image, class) as instances whose union is the
mask (Sartorius: one row per cell); otherwise a second row is an error. Images without rows
(`ids` names every image; Severstal's train.csv lists only defects) have empty masks.

The whole table is checked when read (`read_mask_table`): the columns, every class value, the
image ids, duplicate rows and every run-length string (`rle.parse`, without painting a mask);
masks are then painted per image on demand (`MaskTable.mask`). Lines are named as in the
file, the header being line 1: `train.csv line 17, column EncodedPixels`. Class values are
compared as text (`1`, `1.0` and `"1"` are class "1": pandas reads an integer column with
blanks as floats).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from podium.errors import ConfigError, DataError
from podium.segmentation.masks import Shapes, checked_classes, shape_of
from podium.segmentation.rle import COLUMN_MAJOR, RleConvention, checked_shape, paint, parse

Runs = tuple[np.ndarray, np.ndarray]  # 0-based (starts, ends)


@dataclass(frozen=True, eq=False)
class MaskTable:
    """A checked run-length table; `mask(id)` paints one image's (C, H, W) bool masks."""

    classes: tuple[str, ...]
    ids: tuple[str, ...]
    shapes: Shapes
    convention: RleConvention
    runs: Mapping[str, tuple[tuple[int, Runs], ...]]  # id -> ((class index, runs), ...)
    source: str = "mask table"
    _known: frozenset[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_known", frozenset(self.ids) | frozenset(self.runs))

    def mask(self, image_id: str) -> np.ndarray:
        """Image `image_id`'s (C, H, W) bool masks (all empty for an image without rows)."""
        if image_id not in self._known:
            raise DataError(f"{self.source}: image {image_id!r} is not one of its images")
        height, width = shape_of(self.shapes, image_id, self.source)
        out = np.zeros((len(self.classes), height, width), dtype=bool)
        for k, (starts, ends) in self.runs.get(image_id, ()):
            out[k] |= paint(starts, ends, (height, width), self.convention)
        return out


def _class_name(value: object) -> str | None:
    """A class value as text (integral floats as integers); None for a blank cell."""
    if _blank(value):
        return None
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, np.integer):
        return str(int(value))
    return str(value)


def _blank(value: object) -> bool:
    """None, NaN, NaT or pandas' NA (a nullable or Arrow-backed column's blank)."""
    if isinstance(value, str) or not pd.api.types.is_scalar(value):
        return False
    return bool(pd.isna(value))  # type: ignore[call-overload]


def _columns(table: pd.DataFrame, source: str, *names: str | None) -> None:
    for name in names:
        if name is not None and name not in table.columns:
            raise DataError(
                f"{source} has no column {name!r} (columns: {', '.join(map(str, table.columns))})"
            )


def read_mask_table(
    table: pd.DataFrame,
    *,
    classes: Sequence[object],
    shapes: Shapes,
    convention: RleConvention = COLUMN_MAJOR,
    id_column: str = "id",
    rle_column: str = "rle",
    class_column: str | None = None,
    ids: Sequence[str] | None = None,
    union_rows: bool = False,
    source: str = "train.csv",
) -> MaskTable:
    """Check a run-length table (see the module docstring) and index its runs by image.

    `class_column=None` is the one-row-per-image layout (one class); `ids`, when given, are
    every image (a row of another image is an error); else the table's ids in order."""
    names = checked_classes(classes, source)
    if class_column is None and len(names) != 1:
        raise ConfigError(
            f"{source}: a table without a class column holds one class, not {len(names)} "
            f"({', '.join(names)}); name the class column"
        )
    _columns(table, source, id_column, rle_column, class_column)
    if not isinstance(shapes, Mapping):
        checked_shape(shapes)
    index = {c: k for k, c in enumerate(names)}
    known = None if ids is None else {str(i) for i in ids}
    row_ids = [str(v) for v in table[id_column].tolist()]
    cells = table[rle_column].tolist()
    labels = [names[0]] * len(table) if class_column is None else table[class_column].tolist()
    first_line: dict[tuple[str, int], int] = {}
    runs: dict[str, list[tuple[int, Runs]]] = {}
    for row, (image_id, label, cell) in enumerate(zip(row_ids, labels, cells, strict=True)):
        line = row + 2
        if known is not None and image_id not in known:
            raise DataError(
                f"{source} line {line}, column {id_column}: image {image_id!r} is not one of "
                f"the {len(known)} images"
            )
        k = _class_index(label, index, names, f"{source} line {line}, column {class_column}")
        if (image_id, k) in first_line and not union_rows:
            raise DataError(
                f"{source} line {line}: a second row of image {image_id!r}, class "
                f"{names[k]!r} (the first is line {first_line[image_id, k]}); one row per "
                "(image, class)"
            )
        first_line.setdefault((image_id, k), line)
        height, width = shape_of(shapes, image_id, f"{source} line {line}")
        where = f"{source} line {line}, column {rle_column}"
        starts, ends = parse(None if _blank(cell) else cell, height * width, convention, where)
        if len(starts):
            runs.setdefault(image_id, []).append((k, (starts, ends)))
    order = tuple(dict.fromkeys(row_ids)) if ids is None else tuple(str(i) for i in ids)
    return MaskTable(
        classes=names,
        ids=order,
        shapes=shapes,
        convention=convention,
        runs={i: tuple(r) for i, r in runs.items()},
        source=source,
    )


def _class_index(
    label: object, index: Mapping[str, int], names: tuple[str, ...], where: str
) -> int:
    name = _class_name(label)
    if name is None:
        raise DataError(f"{where}: no class (a blank cell)")
    try:
        return index[name]
    except KeyError:
        raise DataError(
            f"{where}: class {name!r} is not one of the classes {', '.join(names)}"
        ) from None
