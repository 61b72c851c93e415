"""A tabular member on HOG features (`tabular.features: hog`, `podium.tabular.features`):
what the features are invariant to, training through the CLI, and the one-line error of cell
sizes that do not fit the image. The bundle's predictions with HOG are checked byte for byte
in tests/stages/test_export.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from podium.cli import main
from podium.config.tabular import HogConfig
from podium.tabular.features import hog_rows

ROOT = Path(__file__).resolve().parents[2]


def _member(tmp_path: Path, data_root: Path, tabular: dict) -> Path:
    """A tabular member config on the demo digits, 2 folds, written where a user keeps one."""
    config = tmp_path / "hog.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "extends": str(ROOT / "configs/digits/base.yaml"),
                "folds": {"n_splits": 2},
                "tabular": tabular,
                "paths": {
                    "data": str(data_root),
                    "runs": str(tmp_path / "runs"),
                    "submissions": str(tmp_path / "submissions"),
                },
            }
        )
    )
    return config


def _strokes(rng: np.random.Generator) -> np.ndarray:
    """(4, 16, 16) grey images in [0, 1]: a few random bright lines on a dark background."""
    images = np.zeros((4, 16, 16), np.float32)
    for img in images:
        for _ in range(3):
            r, c = rng.integers(2, 14, 2)
            img[r, 2:14] = 1.0 if rng.random() < 0.5 else 0.0
            img[2:14, c] = 1.0
    return images


def test_hog_rows_count_blocks_per_cell_size_and_ignore_contrast_and_polarity():
    images = _strokes(np.random.default_rng(0))
    settings = HogConfig(orientations=9, cells=[4, 8], block=2)
    rows = hog_rows(images, settings)
    # 16 px: 4 px cells give 3 x 3 blocks, 8 px cells 1 x 1; each block 2 x 2 cells x 9 bins
    assert rows.shape == (4, (9 + 1) * 2 * 2 * 9) and rows.dtype == np.float32
    # unsigned edge directions, each block normalised: a fainter ink, or light ink on dark
    # turned to dark ink on light, gives the same row
    np.testing.assert_allclose(hog_rows(0.3 * images + 0.5, settings), rows, atol=1e-4)
    np.testing.assert_allclose(hog_rows(1.0 - images, settings), rows, atol=1e-5)
    # the channels' strongest gradient: three equal channels are the grey image
    colour = np.repeat(images[..., None], 3, axis=-1)
    np.testing.assert_allclose(hog_rows(colour, settings), rows, atol=1e-6)


def test_a_hog_member_trains_through_the_cli(tmp_path, demo_data_root, capsys):
    tabular = {
        "model": "logistic",
        "image_size": 16,
        "grayscale": True,
        "standardize": True,
        "features": "hog",
        "hog": {"cells": [4, 8]},
        "params": {"C": 1.0, "max_iter": 300},
    }
    assert main(["train", "-c", str(_member(tmp_path, demo_data_root, tabular))]) == 0
    out = capsys.readouterr().out
    assert "logistic on 360 HOG features" in out  # (9 + 1) blocks x 4 cells x 9 bins
    cv = float(out.split("CV accuracy ")[1].split()[0])
    assert cv > 0.8  # the tiny demo digits, 2 folds: edges carry the digit


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            "tabular.image_size=8",
            "hog.cells [8, 16] x hog.block 2 pixels do not fit in image_size 8",
        ),
        ("tabular.hog.cells=[0]", "tabular.hog.cells.0"),
    ],
)
def test_hog_settings_that_cannot_work_are_one_line_errors(
    tmp_path, demo_data_root, capsys, override, message
):
    tabular = {"model": "logistic", "image_size": 32, "features": "hog"}
    config = _member(tmp_path, demo_data_root, tabular)
    assert main(["train", "-c", str(config), override]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and str(config) in err and "Traceback" not in err
    assert len(err.splitlines()) == 1
