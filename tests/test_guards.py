"""Guards at the boundary ("nothing lost, nothing stale, nothing silent"), part 1: the config
(experiment names, `extends:` chains, model kwargs), the competition's tables, ids and labels,
and the ensemble's metadata features. Each bad input is one clear error naming the file, the
line or the key, never a traceback from deep inside pandas, timm or Python's recursion."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from factories import toy_config, write_competition
from podium.competition import Competition, DataError
from podium.config import ConfigError, ModelConfig, from_dict, load_config
from podium.config.ensemble import FeaturesConfig
from podium.ensemble.features import build_level2
from podium.ensemble.members import Member
from podium.models import create_model

ROOT = Path(__file__).resolve().parents[1]


def write(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data))
    return path


def toy(tmp_path, labels, **competition) -> Competition:
    write_competition(tmp_path, labels)
    return Competition.from_config(toy_config(tmp_path, **competition))


# ---- 1. experiment names are one plain folder name -----------------------------------------


@pytest.mark.parametrize("name", ["..", ".", "", "../outside", "a/b", "a\\b", ".hidden", "/abs"])
def test_an_experiment_name_that_is_not_a_plain_folder_name_is_refused(name):
    with pytest.raises(ConfigError) as err:
        from_dict({"name": name, "competition": {"name": "c"}}, source="x.yaml")
    message = str(err.value)
    assert message.startswith("x.yaml: invalid config")
    assert f"name: {name!r} is not a valid experiment name (a plain folder name" in message
    assert "Value error" not in message


def test_a_name_override_cannot_point_the_run_outside_the_competition(tmp_path):
    path = write(tmp_path / "exp.yaml", {"competition": {"name": "c"}})
    with pytest.raises(ConfigError, match=r"name: '\.\./\.\./elsewhere' is not a valid"):
        load_config(path, ["name=../../elsewhere"])
    with pytest.raises(ConfigError, match=r"competition\.name: '\.\.' is not a valid competition"):
        load_config(path, ["competition.name=.."])


@pytest.mark.parametrize("name", ["resnet18", "resnet18.v2", "b3_512-fold", "007"])
def test_ordinary_names_are_kept(name):
    cfg = from_dict({"name": name, "competition": {"name": "c"}})
    assert cfg.run_dir == Path("runs") / "c" / name


def test_tune_trials_keep_their_folder_under_the_study(tmp_path):
    """A trial's name is one folder name; its run still lives in tune/<study>/trialNNNN/."""
    import optuna

    from podium.tuning.objective import TrainObjective

    cfg = from_dict(
        {
            "name": "exp",
            "competition": {"name": "c"},
            "paths": {"runs": str(tmp_path / "runs")},
            "tune": {
                "study": "s",
                "space": {"train.lr": {"type": "float", "low": 1e-4, "high": 0.01}},
            },
        },
        source="tune.yaml",
    )
    objective = TrainObjective(cfg, cfg.section("tune"), "s")
    study = optuna.create_study(direction="maximize")
    trial = study.ask()
    trial_cfg = objective.trial_config(trial, {"train.lr": 0.003})
    assert trial_cfg.name == "s-trial0000"
    assert trial_cfg.run_dir == tmp_path / "runs" / "c" / "tune" / "s" / "trial0000"
    assert trial.user_attrs["run_name"] == "tune/s/trial0000"
    assert trial_cfg.train.lr == 0.003
    assert "run_subdir" not in str(trial_cfg.resolved())  # nothing of it in config.yaml


# ---- 2. `extends:` chains ----------------------------------------------------------------


def test_an_extends_cycle_is_named_not_a_recursion_error(tmp_path):
    write(tmp_path / "a.yaml", {"extends": "b.yaml", "competition": {"name": "c"}})
    write(tmp_path / "b.yaml", {"extends": "a.yaml", "train": {"epochs": 2}})
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path / "a.yaml")
    message = str(err.value)
    assert "extends 'a.yaml', which makes a cycle" in message
    assert "a.yaml -> " in message and "b.yaml -> " in message
    assert message.count("->") == 2  # a -> b -> a


def test_a_file_extending_itself_is_a_cycle(tmp_path):
    write(tmp_path / "a.yaml", {"extends": "a.yaml", "competition": {"name": "c"}})
    with pytest.raises(ConfigError, match="which makes a cycle"):
        load_config(tmp_path / "a.yaml")


def test_a_diamond_of_extends_is_not_a_cycle(tmp_path):
    write(tmp_path / "base.yaml", {"competition": {"name": "c"}, "train": {"epochs": 1}})
    write(tmp_path / "b.yaml", {"extends": "base.yaml", "train": {"lr": 0.1}})
    write(tmp_path / "c.yaml", {"extends": "base.yaml", "train": {"epochs": 3}})
    cfg = load_config(write(tmp_path / "d.yaml", {"extends": ["b.yaml", "c.yaml"]}))
    assert (cfg.train.lr, cfg.train.epochs) == (0.1, 3)


def test_a_missing_parent_names_the_file_that_extends_it(tmp_path):
    configs = tmp_path / "configs"
    configs.mkdir()
    child = write(configs / "x.yaml", {"extends": "base.yaml", "competition": {"name": "c"}})
    with pytest.raises(ConfigError) as err:
        load_config(child)
    assert str(err.value) == (
        f"{child}: extends 'base.yaml', which does not exist ({configs / 'base.yaml'})"
    )


# ---- 3. empty and undecodable tables --------------------------------------------------------


@pytest.mark.parametrize("content", ["", "id,label\n"])
def test_an_empty_or_header_only_train_table_has_no_rows(tmp_path, content):
    comp = toy(tmp_path, ["a", "b"])
    (tmp_path / "toy" / "train.csv").write_text(content)
    with pytest.raises(DataError, match=r"train\.csv has no rows"):
        _ = comp.train
    with pytest.raises(DataError, match=r"train\.csv has no rows"):
        _ = comp.task.classes


def test_a_header_only_sample_submission_or_test_table_has_no_rows(tmp_path):
    comp = toy(tmp_path, ["a", "b"])
    (tmp_path / "toy" / "sample_submission.csv").write_text("id,label\n")
    with pytest.raises(DataError, match=r"sample_submission\.csv has no rows"):
        _ = comp.test_ids
    (tmp_path / "toy" / "test.csv").write_text("id\n")
    comp = Competition.from_config(toy_config(tmp_path, test_csv="test.csv"))
    with pytest.raises(DataError, match=r"test\.csv has no rows"):
        _ = comp.test


def test_a_binary_train_table_is_named(tmp_path):
    comp = toy(tmp_path, ["a", "b"])
    png = (tmp_path / "toy" / "train" / "r000.png").read_bytes()
    (tmp_path / "toy" / "train.csv").write_bytes(png)
    with pytest.raises(DataError, match=r"train\.csv: not a readable UTF-8 CSV train table"):
        _ = comp.train


# ---- 4. ids that escape their image folder ---------------------------------------------------


def test_an_id_that_escapes_the_image_folder_is_refused(tmp_path):
    write_competition(tmp_path, ["a", "b", "a"], ids=["r000", "../../outside", "r002"])
    (tmp_path / "outside.png").write_bytes(b"not reached")  # exists: only the check stops it
    comp = Competition.from_config(toy_config(tmp_path))
    with pytest.raises(DataError) as err:
        comp.image_paths("train")
    message = str(err.value)
    assert "train.csv: line 3: id '../../outside' points outside the image folder" in message
    assert str(tmp_path / "toy" / "train") in message


def test_ids_with_subfolders_inside_the_image_folder_are_fine(tmp_path):
    write_competition(tmp_path, ["a", "b"], ids=["r000", "r001"])
    (tmp_path / "toy" / "train" / "sub").mkdir()
    (tmp_path / "toy" / "train" / "r001.png").rename(tmp_path / "toy" / "train" / "sub" / "x.png")
    train = pd.read_csv(tmp_path / "toy" / "train.csv", dtype=str)
    train.loc[1, "id"] = "sub/../sub/x"
    train.to_csv(tmp_path / "toy" / "train.csv", index=False)
    comp = Competition.from_config(toy_config(tmp_path))
    assert comp.image_paths("train")[1].name == "x.png"


# ---- 5. model kwargs timm refuses --------------------------------------------------------------


def test_model_kwargs_that_timm_rejects_name_the_key():
    cfg = ModelConfig(name="test_convnext", kwargs={"bogus_arg": 1})
    with pytest.raises(ConfigError) as err:
        create_model(cfg, num_classes=2)
    message = str(err.value)
    assert message.startswith("model.kwargs: timm's test_convnext does not accept {'bogus_arg': 1}")
    assert "bogus_arg" in message


def test_model_kwargs_timm_accepts_still_work():
    model = create_model(ModelConfig(name="test_convnext", kwargs={"global_pool": "max"}), 2)
    assert model.num_classes == 2


# ---- 11. metadata features that would leak ------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "what"),
    [("label", "target column; it would leak the label"), ("id", "id column"), ("group", "group")],
)
def test_ensemble_metadata_refuses_the_target_id_and_group_columns(tmp_path, column, what):
    write_competition(tmp_path, ["a", "b", "a", "b"], groups=["g0", "g0", "g1", "g1"])
    comp = Competition.from_config(toy_config(tmp_path, group_column="group"))
    p = np.full((4, 2), 0.5)
    member = Member("m", Path("m.yaml"), tmp_path, oof=p, test=p, fingerprint=[])
    with pytest.raises(ConfigError) as err:
        build_level2([member], comp, FeaturesConfig(metadata=[column]))
    assert str(err.value).startswith(
        f"ensemble.features.metadata: {column!r} is the competition's {what}"
    )


# ---- 12. labels ---------------------------------------------------------------------------------


def test_labels_with_surrounding_spaces_are_the_same_class(tmp_path):
    comp = toy(tmp_path, [" a", "b ", "a", " b "])
    assert comp.task.classes == ["a", "b"]
    assert comp.targets.tolist() == [0, 1, 0, 1]
    assert comp.train["label"].tolist() == ["a", "b", "a", "b"]


@pytest.mark.parametrize(
    ("label", "what"),
    [
        ("", "an empty label"),
        ("NaN", "a missing label ('NaN')"),
        ("nan", "a missing label ('nan')"),
    ],
)
def test_an_empty_or_nan_label_names_line_and_id(tmp_path, label, what):
    comp = toy(tmp_path, ["a", "b", "a", label, "b"])
    with pytest.raises(DataError) as err:
        _ = comp.task.classes
    assert str(err.value) == f"{tmp_path / 'toy' / 'train.csv'}: line 5 (id 'r003') has {what}"


def test_a_label_of_spaces_is_empty(tmp_path):
    comp = toy(tmp_path, ["a", "   ", "b"], classes=["a", "b"])
    with pytest.raises(DataError, match=r"train\.csv: line 3 \(id 'r001'\) has an empty label"):
        _ = comp.train


def test_near_duplicate_labels_warn(tmp_path, caplog):
    comp = toy(tmp_path, ["1", "1.0", "2", "Cat", "cat"])
    with caplog.at_level(logging.WARNING, logger="podium"):
        assert len(comp.task.classes) == 5  # still five classes: a warning, not a guess
    text = caplog.text
    assert "['1', '1.0'] look like one class written 2 ways" in text
    assert "['Cat', 'cat']" in text


def test_distinct_labels_do_not_warn(tmp_path, caplog):
    comp = toy(tmp_path, ["1", "2", "10", "cat", "dog"])
    with caplog.at_level(logging.WARNING, logger="podium"):
        _ = comp.task.classes
    assert caplog.text == ""


def test_a_train_set_with_one_class_is_refused(tmp_path):
    comp = toy(tmp_path, ["a", "a", " a"])
    with pytest.raises(DataError) as err:
        _ = comp.task
    assert str(err.value) == (
        f"{tmp_path / 'toy' / 'train.csv'} has one class ('a'); a classifier needs at least two"
    )


def test_solution_labels_that_are_not_classes_name_the_line(tmp_path):
    comp = toy(tmp_path, ["a", "b", "a", "b"], solution="solution.csv")
    ids = [f"t{i:03d}" for i in range(4)]
    pd.DataFrame({"id": ids, "label": ["a", " b", "zebra", "a"]}).to_csv(
        tmp_path / "toy" / "solution.csv", index=False
    )
    with pytest.raises(DataError) as err:
        _ = comp.solution
    assert (
        "solution.csv: line 4 (id 't002') has label 'zebra', which is not one of the classes"
        in str(err.value)
    )


def test_encode_of_an_unknown_label_is_a_data_error(tmp_path):
    comp = toy(tmp_path, ["a", "b"])
    table = pd.DataFrame({"id": ["x", "y"], "label": ["a", "c"]})
    with pytest.raises(DataError, match=r"line 3 \(id 'y'\) has label 'c', which is not one of"):
        comp.task.encode(table, Path("t.csv"))


# ---- 10. dependency bounds -----------------------------------------------------------------------


@pytest.mark.skipif(sys.version_info < (3, 11), reason="tomllib")
def test_scikit_learn_is_bounded_below_the_release_that_drops_svc_probability():
    import tomllib
    from packaging.requirements import Requirement

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    (sklearn,) = [Requirement(d) for d in deps if Requirement(d).name == "scikit-learn"]
    assert sklearn.specifier.contains("1.10.2") and not sklearn.specifier.contains("1.11.0")
