"""The experiment's kind (`Config.kind`): which section makes a config which kind, where its
run lives, and the refusals that name a kind, as a user meets them through the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from podium.cli import main
from podium.config import from_dict, load_config
from podium.config.kind import CNN, ENSEMBLE, KINDS, PSEUDO, TABULAR, Kind
from podium.config.schema import STAGE_SECTIONS

ROOT = Path(__file__).resolve().parents[2]
DIGITS = ROOT / "configs" / "digits"


@pytest.mark.parametrize(
    "config, kind, run_dir",
    [
        ("resnet10t", CNN, "runs/digits/resnet10t"),
        ("pixels_svc", TABULAR, "runs/digits/pixels_svc"),
        ("ensemble", ENSEMBLE, "runs/digits/ensemble/stack"),
        ("pseudo", PSEUDO, "runs/digits/resnet10t-pseudo"),
        ("tune", CNN, "runs/digits/tune"),  # a study of an experiment trains that experiment
        ("tune_meta", ENSEMBLE, "runs/digits/ensemble/stack"),  # a study of the meta-model
    ],
)
def test_each_shipped_config_has_its_kind_and_run_folder(config: str, kind: Kind, run_dir: str):
    cfg = load_config(DIGITS / f"{config}.yaml")
    assert cfg.kind is kind
    assert cfg.run_dir == Path(run_dir)


def test_the_first_kind_whose_section_is_set_wins():
    base = {"name": "x", "competition": {"name": "c"}}
    pseudo, tabular = {"teacher": "t.yaml"}, {"model": "svc"}
    assert from_dict({**base, "pseudo": pseudo, "tabular": tabular}).kind is PSEUDO
    both = {**base, "ensemble": {"members": ["a.yaml"]}, "pseudo": pseudo}
    assert from_dict(both).kind is ENSEMBLE
    assert from_dict({**base, "tune": {"space": {"train.lr": [0.1, 0.01]}}}).kind is CNN


def test_every_kind_but_the_plain_one_comes_from_one_stage_section():
    sections = [k.section for k in KINDS]
    assert sections[-1] is None and None not in sections[:-1]  # the plain kind comes last
    assert set(sections[:-1]) == set(STAGE_SECTIONS) - {"tune"}  # a study is of any kind
    assert len({k.name for k in KINDS}) == len(KINDS)


def write(tmp_path: Path, demo_data_root: Path, name: str, body: dict) -> Path:
    path = tmp_path / f"{name}.yaml"
    paths = {"data": str(demo_data_root), "runs": str(tmp_path / "runs")}
    config = {"extends": str(DIGITS / "base.yaml"), "name": name, "paths": paths, **body}
    path.write_text(yaml.safe_dump(config))
    return path


def error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


def test_refusals_name_the_kind(tmp_path, demo_data_root, capsys, monkeypatch):
    svc = write(tmp_path, demo_data_root, "svc", {"tabular": {"model": "svc"}})
    plain = write(tmp_path, demo_data_root, "plain", {"model": {"name": "test_convnext"}})

    assert main(["ensemble", "-c", str(plain)]) == 2
    assert "`podium ensemble` needs an `ensemble:` section" in error_line(capsys)
    assert main(["pseudo", "-c", str(svc)]) == 2
    assert "`podium pseudo` needs a `pseudo:` section" in error_line(capsys)
    assert main(["train", "-c", str(svc), f"train.distill={{teacher: {plain}}}"]) == 2
    distil = "train.distill is for plain CNN experiments, not a tabular config"
    assert distil in error_line(capsys)

    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert main(["train", "-c", str(svc), "--fold", "0", "--seed", "0"]) == 2
    assert "only an image experiment trains (this is a tabular config)" in error_line(capsys)
    assert not (tmp_path / "runs").exists()  # refused before anything was written
