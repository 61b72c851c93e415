"""A tiny competition with metadata columns (age: numeric with an empty cell; site:
categorical, a test category train.csv lacks), and its config."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from factories import write_competition
from podium.config import from_dict

LABELS = ["a", "b"] * 4
TRAIN_META = {
    "age": ["10", "20", "", "40", "50", "60", "70", "80"],
    "site": ["x", "y", "x", "", "y", "z", "x", "y"],
}
TEST_META = {"age": ["30", "", "1000", "5"], "site": ["x", "w", "z", ""]}


def write_metadata_competition(root: Path, train=None, test=None) -> Path:
    comp = write_competition(root, LABELS)
    table = pd.read_csv(comp / "train.csv", dtype=str)
    for k, v in (train or TRAIN_META).items():
        table[k] = v
    table.to_csv(comp / "train.csv", index=False)
    test_ids = pd.read_csv(comp / "sample_submission.csv", dtype=str)["id"]
    pd.DataFrame({"id": test_ids, **(test or TEST_META)}).to_csv(comp / "test.csv", index=False)
    return comp


def metadata_config(root: Path, **model):
    return from_dict(
        {
            "name": "meta",
            "competition": {
                "name": "toy",
                "solution": None,
                "test_csv": "test.csv",
                "metadata": {"numeric": ["age"], "categorical": ["site"]},
            },
            "data": {"image_size": 8, "num_workers": 0},
            "folds": {"n_splits": 2},
            "model": {"name": "test_convnext", **model},
            "train": {"epochs": 1, "batch_size": 4, "progress": False, "device": "cpu"},
            "paths": {"data": str(root), "runs": str(root / "runs")},
        }
    )
