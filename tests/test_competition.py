"""The competition contract: tables and images checked at the boundary, with errors that
name the file, the line and the id; labels <-> class indices in one place."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from factories import toy_config, write_competition
from podium.competition import Competition, DataError
from podium.errors import ConfigError


def toy(tmp_path, labels, **kwargs) -> Competition:
    write_competition(
        tmp_path, labels, **{k: v for k, v in kwargs.items() if k in ("ids", "groups")}
    )
    cfg = toy_config(tmp_path, **{k: v for k, v in kwargs.items() if k not in ("ids", "groups")})
    return Competition.from_config(cfg)


def test_demo_competition_reads(tiny_config):
    comp = Competition.from_config(tiny_config())
    assert comp.task.classes == [str(i) for i in range(10)]
    assert len(comp.train) == 1437 and len(comp.test) == 360
    assert list(comp.test_ids) == list(comp.sample_submission["id"])
    assert comp.solution is not None and len(comp.solution) == 360
    paths = comp.image_paths("test")
    assert len(paths) == 360 and paths[0].name == f"{comp.test_ids[0]}.png"


def test_numeric_labels_sort_numerically_and_round_trip(tmp_path):
    comp = toy(tmp_path, ["10", "9", "2", "10", "9", "2"])
    assert comp.task.classes == ["2", "9", "10"]
    assert comp.targets.tolist() == [2, 1, 0, 2, 1, 0]
    assert comp.task.decode(comp.targets).tolist() == ["10", "9", "2", "10", "9", "2"]


def test_ids_and_labels_stay_strings(tmp_path):
    comp = toy(tmp_path, ["cat", "dog"], ids=["007", "010"])
    assert comp.train_ids.tolist() == ["007", "010"]  # not 7 and 10
    assert comp.task.classes == ["cat", "dog"]
    table = pd.DataFrame({"id": ["x", "y"], "label": ["dog", "cat"]})
    assert comp.task.encode(table, Path("t.csv")).tolist() == [1, 0]


def test_configured_classes_fix_the_order(tmp_path):
    comp = toy(tmp_path, ["b", "a", "c"], classes=["c", "b", "a"])
    assert comp.targets.tolist() == [1, 2, 0]


def test_label_not_in_the_classes_names_line_id_and_label(tmp_path):
    comp = toy(tmp_path, ["a", "b", "zebra", "a"], classes=["a", "b"])
    with pytest.raises(DataError) as err:
        _ = comp.targets
    message = str(err.value)
    assert "train.csv" in message and "line 4" in message and "'r002'" in message
    assert "'zebra'" in message


def test_an_unknown_metric_for_the_task_names_the_key(tmp_path):
    comp = toy(tmp_path, ["a", "b"], metric="acuracy")
    with pytest.raises(ConfigError, match="competition.metric.*did you mean 'accuracy'"):
        _ = comp.task


def test_missing_image_file_names_path_id_and_line(tmp_path):
    comp = toy(tmp_path, ["a", "b", "a"])
    (tmp_path / "toy" / "train" / "r001.png").unlink()
    with pytest.raises(DataError) as err:
        comp.image_paths("train")
    message = str(err.value)
    assert "r001.png" in message and "'r001'" in message and "line 3" in message
    assert "train.csv" in message


def test_missing_test_image_names_the_sample_submission(tmp_path):
    comp = toy(tmp_path, ["a", "b"])
    (tmp_path / "toy" / "test" / "t002.png").unlink()
    with pytest.raises(DataError, match=r"t002\.png.*sample_submission\.csv"):
        comp.image_paths("test")


def test_missing_column_names_file_and_column(tmp_path):
    comp = toy(tmp_path, ["a", "b"], target_column="species")
    with pytest.raises(DataError) as err:
        _ = comp.train
    message = str(err.value)
    assert "train.csv" in message and "'species'" in message and "'label'" in message  # has


def test_missing_group_column(tmp_path):
    comp = toy(tmp_path, ["a", "b"], group_column="patient")
    with pytest.raises(DataError, match="patient"):
        _ = comp.train


def test_duplicate_ids_name_the_id_and_line(tmp_path):
    comp = toy(tmp_path, ["a", "b", "a"], ids=["x", "y", "x"])
    with pytest.raises(DataError, match=r"train\.csv: duplicate id 'x' \(line 4\)"):
        _ = comp.train


def test_missing_train_table(tmp_path):
    comp = Competition.from_config(toy_config(tmp_path))
    with pytest.raises(DataError, match=r"train table not found: .*train\.csv"):
        _ = comp.train


def test_missing_solution_is_none(tmp_path):
    comp = toy(tmp_path, ["a", "b"])
    assert comp.solution is None
    assert np.array_equal(comp.test_ids, [f"t{i:03d}" for i in range(4)])
