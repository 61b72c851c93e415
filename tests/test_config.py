"""Config: `extends:` composition, dotted overrides, validation that names the key (and the
closest valid one), and the resolved config a run saves beside its artifacts."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from podium.config import (
    ConfigError,
    from_dict,
    load_config,
    parse_override,
    save_resolved,
)
from podium.fingerprint import fingerprint
from podium.tabular.fit import tabular_config
from podium.units.stamps import training_config

ROOT = Path(__file__).resolve().parents[1]


def write(path: Path, data: dict | str) -> Path:
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    return path


@pytest.fixture
def base_and_child(tmp_path) -> Path:
    write(
        tmp_path / "base.yaml",
        {
            "competition": {"name": "comp", "metric": "accuracy"},
            "train": {"epochs": 5, "lr": 0.01, "seeds": [0, 1]},
            "data": {"image_size": 64},
        },
    )
    return write(
        tmp_path / "child.yaml",
        {"extends": "base.yaml", "model": {"name": "resnet10t"}, "train": {"lr": 0.002}},
    )


def test_extends_merges_sections_key_by_key(base_and_child):
    cfg = load_config(base_and_child)
    assert cfg.name == "child"  # named after its file
    assert cfg.competition.name == "comp"
    assert cfg.model.name == "resnet10t"
    assert cfg.train.lr == 0.002  # the child wins
    assert cfg.train.epochs == 5 and cfg.train.seeds == [0, 1]  # the rest of base's section stays
    assert cfg.data.image_size == (64, 64)  # an int means a square


def test_extends_a_list_later_files_win(tmp_path):
    write(tmp_path / "a.yaml", {"competition": {"name": "a"}, "train": {"epochs": 1, "lr": 0.1}})
    write(tmp_path / "b.yaml", {"train": {"epochs": 2}})
    child = write(tmp_path / "c.yaml", {"extends": ["a.yaml", "b.yaml"], "name": "exp"})
    cfg = load_config(child)
    assert (cfg.name, cfg.competition.name, cfg.train.epochs, cfg.train.lr) == ("exp", "a", 2, 0.1)


def test_overrides_are_parsed_as_yaml_and_win_over_files(base_and_child):
    cfg = load_config(
        base_and_child,
        ["train.epochs=3", "train.lr=3e-4", "train.seeds=[4,5]", "model.pretrained=true"],
    )
    assert cfg.train.epochs == 3 and cfg.train.lr == pytest.approx(3e-4)
    assert cfg.train.seeds == [4, 5] and cfg.model.pretrained is True
    assert parse_override("train.clip_grad=") == (["train", "clip_grad"], None)


@pytest.mark.parametrize(
    "path", sorted((ROOT / "configs").glob("*/*.yaml")), ids=lambda p: f"{p.parent.name}/{p.name}"
)
def test_every_shipped_config_loads_and_its_stage_section_validates(path, demo_data_root):
    from podium.experiment import Experiment
    from podium.tabular.checks import check_tabular

    cfg = load_config(path)  # the stage sections are validated with it
    assert cfg.competition.name == path.parent.name and cfg.model.name
    if (
        cfg.tabular is not None and cfg.competition.name == "digits"
    ):  # checked against the task, built from the demo's train.csv
        data = load_config(path, [f"paths.data={demo_data_root}"])
        check_tabular(data, Experiment(data).task)
    if cfg.ensemble is not None:  # members are files next to it, each a loadable experiment
        for member in cfg.ensemble.member_paths(cfg.source):
            assert load_config(member).ensemble is None


@pytest.mark.parametrize(
    "override, named, suggested",
    [
        ("train.epoch=3", "train.epoch", "train.epochs"),
        ("model.nam=resnet18", "model.nam", "model.name"),
        ("folds.n_split=3", "folds.n_split", "folds.n_splits"),
        ("trian.epochs=3", "trian", "train"),
    ],
)
def test_unknown_key_names_it_and_the_closest_valid_key(base_and_child, override, named, suggested):
    with pytest.raises(ConfigError) as err:
        load_config(base_and_child, [override])
    message = str(err.value)
    assert str(base_and_child) in message  # the file
    assert f"unknown key {named!r}" in message
    assert f"did you mean {suggested!r}" in message


def test_unknown_key_in_a_file_is_an_error_too(tmp_path):
    path = write(tmp_path / "x.yaml", {"competition": {"name": "c"}, "train": {"epoch": 3}})
    with pytest.raises(
        ConfigError, match=r"(?s)x\.yaml.*unknown key 'train\.epoch'.*'train\.epochs'"
    ):
        load_config(path)


@pytest.mark.parametrize(
    "override, key",
    [
        ("train.lr=fast", "train.lr"),
        ("train.epochs=0", "train.epochs"),
        ("folds.method=random", "folds.method"),
        ("train.folds=[0,7]", "outside 0..4"),
    ],
)
def test_bad_values_name_the_key(tmp_path, override, key):
    path = write(tmp_path / "x.yaml", {"competition": {"name": "c"}})
    with pytest.raises(ConfigError, match=key):
        load_config(path, [override])


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "not found"),
        ("train: [1, 2", "not valid YAML"),
        ("- a\n- b\n", "mapping at the top level"),
    ],
)
def test_unreadable_files_are_config_errors(tmp_path, content, message):
    path = tmp_path / "c.yaml"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_override_without_equals_sign_is_an_error(base_and_child):
    with pytest.raises(ConfigError, match="key=value"):
        load_config(base_and_child, ["train.epochs"])


def test_resolved_config_round_trips(base_and_child, tmp_path):
    cfg = load_config(base_and_child, ["train.epochs=2"])
    saved = tmp_path / "run" / "config.yaml"
    save_resolved(cfg, saved)
    text = saved.read_text()
    assert "extends" not in text  # fully resolved: no reference to other files
    again = from_dict(yaml.safe_load(text))
    assert again.resolved() == cfg.resolved()
    assert trained_from(again) == trained_from(cfg)


def trained_from(cfg) -> str:
    return fingerprint(training_config(cfg))


def test_training_fingerprint_ignores_what_does_not_change_weights(base_and_child):
    cfg = load_config(base_and_child)
    same = load_config(
        base_and_child,
        ["train.progress=false", "train.stop_after_epoch=1", "infer.tta=[identity,hflip]"],
    )
    assert trained_from(same) == trained_from(cfg)
    assert trained_from(load_config(base_and_child, ["train.lr=0.5"])) != trained_from(cfg)
    assert trained_from(load_config(base_and_child, ["model.name=resnet18"])) != trained_from(cfg)


def test_a_default_spelled_out_or_added_to_the_schema_changes_no_fingerprint(base_and_child):
    """Config parts hash only values that differ from their defaults: a field added to the
    schema with a default (or a default written out in a YAML) leaves finished work fresh."""
    cfg = load_config(base_and_child)
    spelled = load_config(base_and_child, ["train.clip_grad=null", "model.drop_rate=0.0"])
    assert trained_from(spelled) == trained_from(cfg)
    assert "clip_grad" not in training_config(cfg)["train"]


def test_a_tabular_member_fingerprint_covers_only_what_it_reads():
    svc = ROOT / "configs" / "digits" / "pixels_svc.yaml"
    cfg = load_config(svc)
    cnn_settings = ["train.epochs=3", "train.lr=0.5", "model.name=resnet18", "data.image_size=64"]
    assert fingerprint(tabular_config(load_config(svc, cnn_settings))) == fingerprint(
        tabular_config(cfg)
    )
    for changed in ("tabular.params.C=1", "train.seeds=[0,1]"):
        assert fingerprint(tabular_config(load_config(svc, [changed]))) != fingerprint(
            tabular_config(cfg)
        ), changed


def test_run_paths(base_and_child):
    cfg = load_config(base_and_child, ["paths.runs=/r", "paths.data=/d"])
    assert cfg.data_dir == Path("/d/comp")
    assert cfg.run_dir == Path("/r/comp/child")
    assert cfg.folds_path == Path("/r/comp/folds.csv")
    assert cfg.fold_ids() == [0, 1, 2, 3, 4]
    assert load_config(base_and_child, ["train.folds=[1]"]).fold_ids() == [1]
