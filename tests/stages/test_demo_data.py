"""`podium demo-data`: scikit-learn's digits in Kaggle layout, stratified, deterministic,
idempotent, with the hidden labels kept in solution.csv."""

from __future__ import annotations

import logging

import cv2
import numpy as np
import pandas as pd

from podium.stages.demo_data import write_demo


def read(root, name):
    return pd.read_csv(root / "digits" / name, dtype=str)


def test_kaggle_layout(demo_data_root):
    comp = demo_data_root / "digits"
    train, sample, solution = (
        read(demo_data_root, f) for f in ("train.csv", "sample_submission.csv", "solution.csv")
    )
    assert list(train.columns) == ["id", "label"] and len(train) == 1437
    assert list(sample.columns) == ["id", "label"] and len(sample) == 360
    assert list(solution["id"]) == list(sample["id"])
    assert set(solution["Usage"]) == {"Public", "Private"}
    assert not set(train["id"]) & set(sample["id"])  # test ids are unseen
    assert sorted(set(train["label"])) == [str(i) for i in range(10)]
    for split, ids in (("train", train["id"]), ("test", sample["id"])):
        assert sorted(p.stem for p in (comp / split).glob("*.png")) == sorted(ids)
    img = cv2.imread(str(comp / "train" / f"{train['id'][0]}.png"), cv2.IMREAD_UNCHANGED)
    assert img.shape == (32, 32, 3) and img.dtype == np.uint8 and img.max() > 128


def test_split_is_stratified(demo_data_root):
    train, solution = read(demo_data_root, "train.csv"), read(demo_data_root, "solution.csv")
    share = solution["label"].value_counts() / (
        train["label"].value_counts() + solution["label"].value_counts()
    )
    assert share.between(0.17, 0.23).all()  # every digit ~20% in the test split


def test_deterministic_and_idempotent(demo_data_root, tmp_path, caplog):
    out = write_demo(tmp_path)
    for name in ("train.csv", "sample_submission.csv", "solution.csv"):
        assert (out / name).read_bytes() == (demo_data_root / "digits" / name).read_bytes()
    stamp = (out / "train.csv").stat().st_mtime_ns
    with caplog.at_level(logging.INFO, logger="podium"):
        assert write_demo(tmp_path) == out
    assert "already present" in caplog.text
    assert (out / "train.csv").stat().st_mtime_ns == stamp
    assert [p.name for p in tmp_path.iterdir()] == ["digits"]  # no temp folders left
