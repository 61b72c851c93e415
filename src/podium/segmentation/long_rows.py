"""Long run-length tables, one row per (image, class), both ways: `to_wide` reads one into
the one-row-per-image table the rest of podium uses (an id column, one run-length column per
class, as `mask_table.read_mask_table` reads), `to_long` writes a wide submission back in a
long sample submission's columns and row order.

    Severstal   ImageId, ClassId, EncodedPixels     (train.csv lists defective pairs only)
                ImageId_ClassId, EncodedPixels      (the original sample_submission)
    Clouds      Image_Label, EncodedPixels          ("img.jpg_Fish": every pair, blank empty)

A combined `image_label` value is split at the class it ends with (`<image><sep><class>`,
the longest class that matches), so an image id may hold the separator. Reading checks every
row: a class value not among the classes, a label ending in no class and a second row of one
(image, class) are one-line DataErrors naming the table's line (the header is line 1). A pair
without a row is an empty mask; `extra_images` adds images without any row (Severstal's
folder holds every image, its train.csv only the defective ones); a row with a blank class
and a blank run-length cell lists an image without masks.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from podium.errors import ConfigError, DataError
from podium.segmentation.rle import RleConvention, is_empty_cell


@dataclass(frozen=True)
class LongLayout:
    """The columns of a long table: `image` and `class_column`, or `image_label` (values
    `<image><separator><class>`); `rle` holds the run-length cells."""

    rle: str
    image: str | None = None
    class_column: str | None = None
    image_label: str | None = None
    separator: str = "_"

    @property
    def columns(self) -> list[str]:
        keys = [self.image_label] if self.image_label else [self.image, self.class_column]
        return [str(k) for k in keys] + [self.rle]


NO_CLASS = -1  # a row of an image without masks: a blank class and a blank run-length


def _class_text(value: str) -> str:
    """A class cell as text: `1.0` (pandas' float of an integer column) is class `1`."""
    try:
        number = float(value)
    except ValueError:
        return value
    return str(int(number)) if number.is_integer() and "." in value else value


def pairs(
    table: pd.DataFrame, layout: LongLayout, classes: Sequence[str], source: str
) -> list[tuple[str, int]]:
    """Each row's (image id, class index), checked (see the module docstring); a row with
    a blank class and a blank run-length cell lists an image without masks (`NO_CLASS`)."""
    missing = [c for c in layout.columns if c not in table.columns]
    if missing:
        raise DataError(
            f"{source} has no column {missing[0]!r} (columns: {', '.join(map(str, table.columns))})"
        )
    index = {c: k for k, c in enumerate(classes)}
    out: list[tuple[str, int]] = []
    if layout.image_label is not None:
        ends = sorted(classes, key=len, reverse=True)
        for row, label in enumerate(table[layout.image_label].astype(str).tolist()):
            cls = next((c for c in ends if label.endswith(layout.separator + c)), None)
            if cls is None:
                raise DataError(
                    f"{source} line {row + 2}, column {layout.image_label}: {label!r} does not "
                    f"end in {layout.separator!r} and a class ({', '.join(classes)})"
                )
            out.append((label[: -len(layout.separator + cls)], index[cls]))
        return out
    images = table[str(layout.image)].astype(str).tolist()
    labels = table[str(layout.class_column)].astype(str).tolist()
    cells = table[layout.rle].tolist()
    for row, (image, label, cell) in enumerate(zip(images, labels, cells, strict=True)):
        if not label.strip() and is_empty_cell(cell):
            out.append((image, NO_CLASS))  # an image listed without any mask
            continue
        k = index.get(_class_text(label.strip()))
        if k is None:
            raise DataError(
                f"{source} line {row + 2}, column {layout.class_column}: class {label!r} is "
                f"not one of the classes {', '.join(classes)} (competition.classes)"
            )
        out.append((image, k))
    return out


def to_wide(
    table: pd.DataFrame,
    layout: LongLayout,
    classes: Sequence[str],
    columns: Sequence[str],
    id_column: str,
    convention: RleConvention,
    source: str,
    extra_images: Iterable[str] = (),
    carry: Sequence[str] = ("Usage",),
) -> pd.DataFrame:
    """One row per image (in order of first appearance, then `extra_images` not listed):
    `id_column` and `columns[k]`, class k's run-length cell ('' for an empty mask), and the
    `carry` columns the table has (a solution's Usage), from the image's first row."""
    if id_column in columns:
        raise ConfigError(f"competition.id_column {id_column!r} is also a class's column")
    found = pairs(table, layout, classes, source)
    cells = table[layout.rle].tolist()
    line: dict[tuple[str, int], int] = {}
    wide: dict[str, list[str]] = {}
    for row, ((image, k), cell) in enumerate(zip(found, cells, strict=True)):
        if k == NO_CLASS:
            wide.setdefault(image, [""] * len(classes))
            continue
        if (image, k) in line:
            raise DataError(
                f"{source} line {row + 2}: a second row of image {image!r}, class "
                f"{classes[k]!r} (the first is line {line[image, k]}); one row per (image, class)"
            )
        line[image, k] = row + 2
        masks = wide.setdefault(image, [""] * len(classes))
        masks[k] = "" if is_empty_cell(cell, convention) else str(cell).strip()
    for image in extra_images:
        wide.setdefault(image, [""] * len(classes))
    frame = pd.DataFrame(list(wide.values()), columns=list(columns), dtype=object)
    frame.insert(0, id_column, list(wide))
    for name in (c for c in carry if c in table.columns):
        images = [i for i, _ in reversed(found)]
        first = dict(zip(images, reversed(table[name].tolist()), strict=True))
        frame[name] = [first.get(i, "") for i in wide]
    out: pd.DataFrame = frame
    return out


def to_long(
    wide: pd.DataFrame,
    sample: pd.DataFrame,
    layout: LongLayout,
    classes: Sequence[str],
    columns: Sequence[str],
    id_column: str,
    source: str,
) -> pd.DataFrame:
    """A wide submission in the long `sample`'s columns and row order: its run-length
    column filled from the wide table, its other columns as the sample has them."""
    cells = wide.set_index(wide[id_column].astype(str))
    values = []
    for row, (image, k) in enumerate(pairs(sample, layout, classes, source)):
        if k == NO_CLASS:
            raise DataError(f"{source} line {row + 2}: no class ({layout.class_column} is blank)")
        if image not in cells.index:
            raise DataError(f"{source} line {row + 2}: image {image!r} was not predicted")
        values.append(cells.at[image, columns[k]])
    out: pd.DataFrame = sample.copy()
    out[layout.rle] = values
    return out


def listed_images(root: Path, template: str) -> list[str]:
    """The ids of the image files an `{id}` template finds (`train_images/{id}`: every file
    of train_images/), sorted; a template with other placeholders is a ConfigError."""
    folder, _, name = template.rpartition("/")
    prefix, marker, suffix = name.partition("{id}")
    if not marker or "{" in folder + prefix + suffix:
        raise ConfigError(
            f"competition.rle_rows.unlisted: empty lists the images of train_images, which "
            f"needs a path of the form folder/{{id}}..., not {template!r}; or set unlisted: skip"
        )
    here = root / folder
    if not here.is_dir():
        raise DataError(f"image folder not found: {here} (competition.train_images)")
    names = (p.name for p in here.iterdir() if p.is_file())
    matched = (n for n in names if n.startswith(prefix) and n.endswith(suffix))
    return sorted(
        n[len(prefix) : len(n) - len(suffix)] for n in matched if len(n) > len(prefix + suffix)
    )
