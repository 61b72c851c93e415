"""The board's config column: the keys an experiment's YAML sets differently from what it
extends (lists whole, `name` left out), as the demo's configs read."""

from __future__ import annotations

from pathlib import Path

from podium.board.config_diff import config_diff, show_value
from podium.metrics import FoldScore, ScoreBlock
from podium.records import scores_from_json

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "digits"


def test_the_demo_members_differ_from_base_by_their_own_keys():
    diff = dict(config_diff(CONFIGS / "resnet10t.yaml") or [])
    assert diff == {"model.name": "resnet10t", "train.seeds": [0, 1]}
    assert show_value(diff["train.seeds"]) == "[0, 1]"
    assert config_diff(CONFIGS / "base.yaml") is None  # extends nothing


def test_a_second_level_config_differs_from_its_merged_parents(tmp_path):
    (tmp_path / "a.yaml").write_text("train: {lr: 0.1, epochs: 5}\ninfer: {tta: [identity]}\n")
    (tmp_path / "b.yaml").write_text("extends: a.yaml\ntrain: {lr: 0.2}\n")
    (tmp_path / "c.yaml").write_text(
        "extends: b.yaml\nname: c\ntrain: {lr: 0.2, epochs: 6}\ninfer: {tta: [identity, hflip]}\n"
    )
    assert config_diff(tmp_path / "c.yaml") == [
        ("train.epochs", 6),
        ("infer.tta", ["identity", "hflip"]),
    ]


def test_tta_gain_is_signed_so_that_positive_is_better():
    def view(value: float) -> dict:
        return ScoreBlock("m", value, 0.1, {0: FoldScore(value, 0.1)}).to_json()

    def scores(greater: bool, merged: float, identity: float):
        return scores_from_json(
            {
                "metric": "m",
                "greater_is_better": greater,
                "cv": merged,
                "views": {"identity": view(identity), "hflip": view(0.5)},
            }
        )

    assert scores(True, 0.92, 0.90).tta_gain == 0.92 - 0.90
    assert scores(False, 0.30, 0.35).tta_gain == 0.35 - 0.30  # rmse fell: a gain
    assert scores_from_json({"metric": "m", "cv": 0.9}).tta_gain is None
