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


def test_the_hard_demo_renders_each_held_out_digit_twice(tmp_path):
    """The hard demo's hidden test: two renderings of each of the 899 held-out digits (ids
    `<digit>_r<k>`, the same label), rendering 0 the image the training seeds would draw, the
    others other images; no held-out digit is in train."""
    from podium.hard_digits import rendered_from

    root = write_demo(tmp_path, "hard")
    train = pd.read_csv(root / "train.csv", dtype=str)
    solution = pd.read_csv(root / "solution.csv", dtype=str)
    sample = pd.read_csv(root / "sample_submission.csv", dtype=str)
    assert len(train) == 898 and len(solution) == len(sample) == 1798
    assert list(sample["id"]) == list(solution["id"])
    digits = solution["id"].map(rendered_from)
    assert digits.nunique() == 899 and (digits.value_counts() == 2).all()
    assert not set(digits) & set(train["id"])
    assert (solution.groupby(digits)["label"].nunique() == 1).all()
    first = solution["id"].iloc[0]
    assert first.endswith("_r0")
    images = [cv2.imread(str(root / "test" / f"{rendered_from(first)}_r{k}.png")) for k in range(2)]
    assert all(img.shape == (32, 32, 3) for img in images)
    assert not any(np.array_equal(images[0], other) for other in images[1:])
    assert {"Public", "Private"} == set(solution["Usage"])
