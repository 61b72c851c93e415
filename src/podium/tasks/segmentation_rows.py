"""Segmentation's long run-length tables (`competition.rle_rows`, Severstal and Understanding
Clouds): the config's layouts as `podium.segmentation.long_rows` reads them, and the two
directions of the task's table hooks. Read, a long table becomes one row per image with one
run-length column per class (`wide_columns`), the layout every other stage uses; written, a
submission goes back into the sample submission's long columns and row order.

The train table is read with `rle_rows`' layout; the sample submission, the solution and a
submission with `rle_rows.submission` (default: the same). With `unlisted: empty` the train
images without any row (every file the `train_images` template finds) are read as empty
masks, after the listed ones; with `skip` only the listed images are used.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from podium.config import CompetitionConfig
from podium.config.rle_rows import RowLayout
from podium.segmentation.long_rows import LongLayout, listed_images, to_long, to_wide
from podium.segmentation.rle import RleConvention


def layout(rows: RowLayout) -> LongLayout:
    return LongLayout(
        rle=rows.rle,
        image=rows.image,
        class_column=rows.class_column,
        image_label=rows.image_label,
        separator=rows.separator,
    )


def wide_columns(cfg: CompetitionConfig) -> list[str]:
    """The run-length column of each class, one row per image: `target_column` for one
    class, else the class names."""
    classes = list(cfg.classes or [])
    return [cfg.target_column] if len(classes) <= 1 else classes


def read_long(
    cfg: CompetitionConfig,
    table: pd.DataFrame,
    path: Path,
    role: str,
    convention: RleConvention,
    root: Path,
) -> pd.DataFrame:
    """A long table (`role`: train, sample, solution, submission) as one row per image."""
    rows = cfg.rle_rows
    assert rows is not None and cfg.classes
    train = role == "train"
    extra = listed_images(root, cfg.train_images) if train and rows.unlisted == "empty" else []
    return to_wide(
        table,
        layout(rows if train else rows.submission_layout),
        [str(c) for c in cfg.classes],
        wide_columns(cfg),
        cfg.id_column,
        convention,
        str(path),
        extra,
    )


def write_long(cfg: CompetitionConfig, root: Path, sub: pd.DataFrame) -> pd.DataFrame:
    """A one-row-per-image submission in the sample submission's long layout and order."""
    rows = cfg.rle_rows
    assert rows is not None and cfg.classes
    path = root / cfg.sample_submission
    sample = pd.read_csv(path, dtype=str, keep_default_na=False)
    return to_long(
        sub,
        sample,
        layout(rows.submission_layout),
        [str(c) for c in cfg.classes],
        wide_columns(cfg),
        cfg.id_column,
        str(path),
    )
