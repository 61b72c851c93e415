"""Fold assignment: deterministic for a seed, stratified, group-aware, with clear errors; and
the `podium folds` stage that writes the one folds.csv every experiment shares."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from factories import toy_config, write_competition
from podium.artifacts import file_hash, read_json
from podium.competition import Competition, DataError
from podium.config import FoldsConfig
from podium.folds import assign_folds, read_folds
from podium.stages import folds as folds_stage


@pytest.fixture
def demo(tiny_config) -> Competition:
    return Competition.from_config(tiny_config())


def test_deterministic_for_a_seed(demo):
    a = assign_folds(demo, FoldsConfig(n_splits=5, seed=1))
    b = assign_folds(demo, FoldsConfig(n_splits=5, seed=1))
    c = assign_folds(demo, FoldsConfig(n_splits=5, seed=2))
    pd.testing.assert_frame_equal(a, b)
    assert not a["fold"].equals(c["fold"])


def test_stratified_folds_keep_class_proportions(demo):
    folds = assign_folds(demo, FoldsConfig(method="stratified", n_splits=5))
    assert list(folds["id"]) == list(demo.train_ids)  # train.csv order
    assert sorted(folds["fold"].unique()) == [0, 1, 2, 3, 4]
    counts = pd.crosstab(demo.targets, folds["fold"].to_numpy()).to_numpy()  # class x fold
    assert (counts.max(1) - counts.min(1) <= 1).all()  # every class split evenly


def test_kfold_covers_every_row_once(demo):
    folds = assign_folds(demo, FoldsConfig(method="kfold", n_splits=3))
    sizes = np.bincount(folds["fold"])
    assert sizes.sum() == len(demo.train) and sizes.max() - sizes.min() <= 1


@pytest.mark.parametrize("method", ["group", "stratified_group"])
def test_groups_never_span_two_folds(tmp_path, method):
    labels = ["a", "b"] * 12
    groups = [f"g{i // 3}" for i in range(24)]  # 8 groups of 3 rows
    write_competition(tmp_path, labels, groups=groups)
    comp = Competition.from_config(toy_config(tmp_path, group_column="group"))
    folds = assign_folds(comp, FoldsConfig(method=method, n_splits=4))
    per_group = pd.Series(folds["fold"].to_numpy()).groupby(np.array(groups)).nunique()
    assert (per_group == 1).all()
    assert sorted(folds["fold"].unique()) == [0, 1, 2, 3]


def test_group_method_needs_a_group_column(demo):
    with pytest.raises(DataError, match="group_column"):
        assign_folds(demo, FoldsConfig(method="group"))


def test_a_class_with_fewer_rows_than_folds_is_named(tmp_path):
    write_competition(tmp_path, ["a"] * 6 + ["b"] * 6 + ["rare"] * 2)
    comp = Competition.from_config(toy_config(tmp_path))
    with pytest.raises(DataError) as err:
        assign_folds(comp, FoldsConfig(n_splits=3))
    message = str(err.value)
    assert "train.csv" in message and "'rare' has 2 rows" in message and "n_splits=3" in message
    # plain k-fold does not need every class in every fold
    assert len(assign_folds(comp, FoldsConfig(method="kfold", n_splits=3))) == 14


def test_too_few_groups(tmp_path):
    write_competition(tmp_path, ["a", "b"] * 3, groups=["g1"] * 3 + ["g2"] * 3)
    comp = Competition.from_config(toy_config(tmp_path, group_column="group"))
    with pytest.raises(DataError, match="2 groups"):
        assign_folds(comp, FoldsConfig(method="group", n_splits=3))


def test_folds_stage_writes_once_and_checks_settings(tiny_config, caplog):
    cfg = tiny_config()
    folds_stage.run(cfg)
    path = cfg.folds_path
    meta = read_json(path.with_suffix(".json"))
    assert meta["settings"] == cfg.folds.model_dump() and meta["hash"] == file_hash(path)
    written = path.read_bytes()
    comp = Competition.from_config(cfg)
    folds = read_folds(path, comp)
    assert list(folds.columns) == ["id", "fold"] and folds["id"].tolist() == list(comp.train_ids)

    with caplog.at_level(logging.INFO, logger="podium"):
        folds_stage.run(cfg)  # up to date: not rewritten
    assert "up to date" in caplog.text and path.read_bytes() == written

    other = tiny_config("folds.seed=7")
    with pytest.raises(DataError, match="--force"):
        folds_stage.run(other)
    folds_stage.run(other, force=True)
    assert path.read_bytes() != written


def test_folds_file_that_does_not_match_train_csv_is_refused(tiny_config):
    cfg = tiny_config()
    folds_stage.run(cfg)
    folds = pd.read_csv(cfg.folds_path, dtype=str)
    folds.iloc[:-1].to_csv(cfg.folds_path, index=False)  # one row lost
    with pytest.raises(DataError, match="does not match the ids"):
        folds_stage.run(cfg)
