"""The stage sections (`tabular:`, `ensemble:`, `pseudo:`, `tune:`) are typed and validated
with the config, with errors under their own names; they are saved, and hashed, as written."""

from __future__ import annotations

from pathlib import Path

import yaml

from podium.cli import main
from podium.config import from_dict, load_config, save_resolved
from podium.units.stamps import training_config

ROOT = Path(__file__).resolve().parents[2]


def test_a_wrong_stage_section_is_refused_when_the_config_is_read(tmp_path, capsys):
    path = tmp_path / "x.yaml"
    path.write_text(yaml.safe_dump({"extends": str(ROOT / "configs/digits/base.yaml")}))
    overrides = ["pseudo.teacher=t.yaml", "pseudo.treshold=0.9"]
    assert main(["folds", "-c", str(path), *overrides]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"{path}: invalid pseudo section" in err
    assert "unknown key pseudo.treshold; did you mean 'pseudo.threshold'?" in err


def test_sections_are_typed_and_kept_as_written(tmp_path):
    written = {
        "pseudo": {"teacher": "t.yaml", "threshold": 1},  # an int where the type is a float
        "tune": {"space": {"train.batch_size": [32, 64]}},  # a categorical's shorthand
    }
    cfg = from_dict({"name": "s", "competition": {"name": "digits"}, **written}, "s.yaml")
    assert cfg.section("pseudo").threshold == 1.0
    assert cfg.section("tune").space["train.batch_size"].choices == [32, 64]
    # the saved config and the student's training hash hold the sections as the user wrote
    # them, as when sections were plain mappings: finished runs and studies stay fresh
    save_resolved(cfg, tmp_path / "config.yaml")
    saved = yaml.safe_load((tmp_path / "config.yaml").read_text())
    assert {k: saved[k] for k in written} == written
    assert training_config(cfg)["pseudo"] == written["pseudo"]
    assert load_config(tmp_path / "config.yaml").resolved() == cfg.resolved()
