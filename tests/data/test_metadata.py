"""`competition.metadata`: the metadata matrices (numeric values, NaN where empty; categorical
codes by train.csv's categories, 0 for empty or unknown), the statistics fitted on a fold's
training rows only, the image + metadata network (its output depends on the metadata; missing
values and unseen categories are handled) and the clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from metadata_factories import TRAIN_META, metadata_config, write_metadata_competition
from podium.competition import Competition
from podium.config import ConfigError, from_dict
from podium.data.dataset import ImageDataset
from podium.data.metadata import (
    check_metadata,
    competition_layout,
    fit_stats,
    split_metadata,
)
from podium.engine.freezing import stage_groups
from podium.engine.metadata_net import MetadataNet
from podium.engine.network import build_model, create_network
from podium.errors import DataError
from podium.experiment import Experiment
from podium.models import head_parameters
from podium.stages import folds as folds_stage
from podium.units.train import fold_rows


def test_matrix_has_values_nan_for_empty_cells_and_codes_by_train_categories(tmp_path):
    write_metadata_competition(tmp_path)
    comp = Competition.from_config(metadata_config(tmp_path))
    layout = competition_layout(comp)
    assert layout.categories == (("x", "y", "z"),)
    assert layout.cardinalities == [4]  # three categories + the unknown bucket
    train = split_metadata(comp, "train")
    assert np.isnan(train[2, 0]) and train[0, 0] == 10
    assert train[:, 1].tolist() == [1, 2, 1, 0, 2, 3, 1, 2]  # empty -> 0
    test = split_metadata(comp, "test")
    assert test[:, 1].tolist() == [1, 0, 3, 0]  # 'w' is not a train category -> 0


def test_stats_are_fitted_on_the_training_fold_only(tmp_path):
    write_metadata_competition(tmp_path)
    cfg = metadata_config(tmp_path)
    folds_stage.run(cfg)
    exp = Experiment(cfg)
    train, valid = fold_rows(exp, 0)
    stats = train.metadata_stats
    ages = train.metadata[:, 0]
    assert stats.mean[0] == pytest.approx(np.nanmean(ages))
    assert stats.std[0] == pytest.approx(np.nanstd(ages))
    # validation and test rows do not move them: change every one of them, fit again
    is_valid = exp.fold_of_row == 0
    table = pd.read_csv(tmp_path / "toy" / "train.csv", dtype=str, keep_default_na=False)
    table.loc[is_valid, "age"] = "9999"
    table.loc[is_valid, "site"] = "z"
    table.to_csv(tmp_path / "toy" / "train.csv", index=False)
    again, valid_again = fold_rows(Experiment(cfg), 0)
    assert np.array_equal(again.metadata_stats.mean, stats.mean)
    assert np.array_equal(again.metadata_stats.std, stats.std)
    assert [s.tolist() for s in again.metadata_stats.seen] == [s.tolist() for s in stats.seen]
    assert (valid_again.metadata[:, 0] == 9999).all()


def test_unseen_categories_of_the_fold_are_flagged_and_missing_numbers_ignored():
    rows = np.array([[1.0, 1], [np.nan, 1], [3.0, 2]], np.float32)
    layout = competition_layout_stub()
    stats = fit_stats(layout, rows)
    assert stats.mean[0] == pytest.approx(2.0) and stats.std[0] == pytest.approx(1.0)
    assert stats.seen[0].tolist() == [True, True, True, False]  # category 3 not in these rows


def competition_layout_stub():
    from podium.data.metadata import MetadataLayout

    return MetadataLayout(("age",), ("site",), (("x", "y", "z"),))


def _net(seed: int = 0) -> MetadataNet:
    cfg = metadata_config(Path("."))
    torch.manual_seed(seed)
    net = create_network(cfg, 2, competition_layout_stub())
    assert isinstance(net, MetadataNet)
    rows = np.array([[10, 1], [20, 2], [30, 1]], np.float32)
    net.set_stats(fit_stats(competition_layout_stub(), rows))
    return net.eval()


def test_network_output_depends_on_the_metadata():
    net = _net()
    x = torch.rand(2, 3, 32, 32)
    young = torch.tensor([[10.0, 1], [10.0, 1]])
    old = torch.tensor([[90.0, 2], [90.0, 2]])
    with torch.no_grad():
        assert not torch.allclose(net(x, young), net(x, old))
    with pytest.raises(ValueError, match="takes metadata"):
        net(x)


def test_missing_values_and_unseen_categories_give_finite_outputs():
    net = _net()
    x = torch.rand(3, 3, 32, 32)
    with torch.no_grad():
        out = net(x, torch.tensor([[np.nan, 3.0], [20.0, 0.0], [20.0, 3.0]]))
        unknown = net(x, torch.tensor([[np.nan, 0.0], [20.0, 0.0], [20.0, 0.0]]))
    assert torch.isfinite(out).all()
    # category 3 was never seen by the fold: it goes to the unknown bucket, like an empty cell
    assert torch.allclose(out, unknown)


def test_statistics_travel_in_the_state_dict():
    net = _net()
    state = net.state_dict()
    assert {"mean", "std", "seen0"} <= set(state)
    fresh = create_network(metadata_config(Path(".")), 2, competition_layout_stub())
    fresh.load_state_dict(state)
    assert torch.equal(fresh.mean, net.mean)


def test_metadata_path_trains_as_head_and_backbone_keeps_stage_groups():
    net = _net()
    head = head_parameters(net)
    mlp = {id(p) for p in net.mlp.parameters()} | {id(p) for p in net.embeddings.parameters()}
    assert mlp <= head and {id(p) for p in net.head.parameters()} <= head
    groups = stage_groups(net)
    assert len(groups) > 1 and all(n.startswith("backbone.") for g in groups for n in g)


def test_build_model_sets_the_fold_statistics():
    stats = fit_stats(competition_layout_stub(), np.array([[10, 1], [30, 2]], np.float32))
    cfg = metadata_config(Path("."))
    model = build_model(cfg, 2, torch.device("cpu"), 0, stats)
    assert model.mean.item() == pytest.approx(20.0)
    plain = build_model(cfg, 2, torch.device("cpu"), 0)
    assert not isinstance(plain, MetadataNet)  # no statistics: the timm model


def test_dataset_carries_each_rows_metadata():
    images = np.zeros((3, 8, 8, 3), np.uint8)
    meta = np.array([[1, 0], [2, 1], [3, 2]], np.float32)
    sample = ImageDataset(images, np.eye(3, dtype=np.float32), metadata=meta)[1]
    assert len(sample) == 4 and sample[3].tolist() == [2, 1]
    assert len(ImageDataset(images, np.eye(3, dtype=np.float32))[1]) == 3


# ---- clear errors ---------------------------------------------------------------------------
def test_missing_column_in_the_test_table_names_the_file_and_column(tmp_path):
    write_metadata_competition(tmp_path, test={"age": ["1", "2", "3", "4"]})
    comp = Competition.from_config(metadata_config(tmp_path))
    with pytest.raises(DataError, match=r"test\.csv: missing metadata column\(s\) \['site'\]"):
        check_metadata(comp)


def test_non_numeric_value_names_the_line(tmp_path):
    bad = {**TRAIN_META, "age": ["10", "20", "old", "40", "50", "60", "70", "80"]}
    write_metadata_competition(tmp_path, train=bad)
    comp = Competition.from_config(metadata_config(tmp_path))
    with pytest.raises(
        DataError,
        match=r"train\.csv: line 4, numeric metadata column 'age' = 'old' is not a number",
    ):
        check_metadata(comp)


def test_without_a_test_table_the_error_says_to_set_test_csv(tmp_path):
    write_metadata_competition(tmp_path)
    cfg = metadata_config(tmp_path)
    cfg.competition.test_csv = None
    with pytest.raises(DataError, match="set competition.test_csv"):
        check_metadata(Competition.from_config(cfg))


@pytest.mark.parametrize(
    "metadata, message",
    [
        ({"numeric": ["label"]}, "metadata column 'label' is the target column"),
        ({"categorical": ["id"]}, "metadata column 'id' is the id column"),
        ({}, "metadata names no column"),
        ({"numeric": ["a"], "categorical": ["a"]}, r"lists column\(s\) \['a'\] more than once"),
    ],
)
def test_config_refuses_bad_metadata_columns(metadata, message):
    with pytest.raises(ConfigError, match=message):
        from_dict({"name": "x", "competition": {"name": "toy", "metadata": metadata}})
