"""A binary competition end to end: odd vs even digits, AUC, a probability submission."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from podium.experiment import Experiment
from podium.stages import folds, infer, oof, score, submit


@pytest.fixture
def parity_root(demo_data_root, tmp_path):
    """The demo images, relabelled odd/even, with Kaggle's binary probability format."""
    root = tmp_path / "data"
    comp = root / "parity"
    comp.mkdir(parents=True)
    for split in ("train", "test"):
        (comp / split).symlink_to(demo_data_root / "digits" / split)

    def parity(labels: pd.Series) -> pd.Series:
        return np.where(labels.astype(int) % 2 == 1, "odd", "even")

    train = pd.read_csv(demo_data_root / "digits" / "train.csv", dtype=str)
    train.assign(label=parity(train["label"])).to_csv(comp / "train.csv", index=False)
    solution = pd.read_csv(demo_data_root / "digits" / "solution.csv", dtype=str)
    solution.assign(label=parity(solution["label"])).to_csv(comp / "solution.csv", index=False)
    pd.DataFrame({"id": solution["id"], "target": 0.5}).to_csv(
        comp / "sample_submission.csv", index=False
    )
    return root


def test_binary_competition_submits_positive_class_probabilities(tiny_config, parity_root):
    cfg = tiny_config(
        "competition.name=parity",
        "competition.task=binary",
        "competition.metric=auc",
        "competition.submission_format=proba",
        "competition.classes=[even, odd]",
        f"paths.data={parity_root}",
        "train.epochs=2",
    )
    folds.run(cfg)
    exp = Experiment(cfg)
    from podium.stages import train

    train.run(exp)
    oof.run(exp)
    infer.run(exp)
    path = submit.run(cfg)
    sub = pd.read_csv(path)
    assert list(sub.columns) == ["id", "target"]
    assert sub["target"].between(0, 1).all()
    result = score.run(cfg, path)
    assert result["all"] > 0.6  # two epochs of a tiny model already separate odd from even
