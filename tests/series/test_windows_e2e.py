"""Several DICOM windows per slice end to end through the CLI, as a user runs it, on a tiny
copy of the series demo (16 train and 6 test studies, 2 folds, 1 epoch at 16 px, timm's
test_resnet under the attention head): folds -> train -> oof -> infer -> submit with
`data.windows` (2 windows) and `data.slices.spacing`, one prediction per study, the cache
holding depth * 2 channels."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from podium.cli import main
from podium.config import load_config
from podium.series.demo import write_series_demo

ROOT = Path(__file__).resolve().parents[2]
ATTENTION = ROOT / "configs/digits_series/attention.yaml"


def overrides(tmp: Path) -> list[str]:
    return [
        f"paths.data={tmp / 'data'}",
        f"paths.runs={tmp / 'runs'}",
        f"paths.submissions={tmp / 'subs'}",
        "model.name=test_resnet",
        "folds.n_splits=2",
        "data.image_size=16",
        "data.slices.depth=8",
        "data.slices.sample=4",
        "data.slices.spacing=2.0",
        "data.windows=[[40, 80], [40, 400]]",
        "train.epochs=1",
        "train.batch_size=4",
        "train.progress=false",
        "infer.batch_size=4",
    ]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("series_windows")
    write_series_demo(tmp / "data/digits_series", n_train=16, n_test=6)
    return tmp


def test_two_windows_per_slice_through_the_cli(demo):
    for stage in ("folds", "train", "oof", "infer", "submit"):
        assert main([stage, "-c", str(ATTENTION), *overrides(demo)]) == 0, stage
    cfg = load_config(ATTENTION, overrides(demo))
    assert cfg.data.n_channels == 16 and len(cfg.data.mean) == 16
    scores = json.loads((cfg.run_dir / "scores.json").read_text())
    assert 0 <= scores["cv"] <= 1
    assert len(pd.read_parquet(cfg.run_dir / "oof.parquet")) == 16  # one row per study
    sample = pd.read_csv(demo / "data/digits_series/sample_submission.csv")
    submitted = pd.read_csv(next((demo / "subs").glob(f"digits_series-{cfg.name}-*.csv")))
    assert submitted["id"].tolist() == sample["id"].tolist()
    assert submitted["label"].between(0, 1).all()
    cache = np.load(next((cfg.comp_dir / "cache").glob("train-16x16-*.npy")), mmap_mode="r")
    assert cache.shape == (16, 16, 16, 16)  # (studies, H, W, depth 8 x 2 windows)
    narrow, wide = np.asarray(cache[..., 0::2], float), np.asarray(cache[..., 1::2], float)
    assert narrow.std() > wide.std()  # the 80 HU window stretches the same tissue more
