"""A tabular member reads the competition's channels by default (`tabular.grayscale: false`):
a signal held between channels (HPA's stains, a red-vs-green class) survives, where the old
default's grey mean made every image alike (#23 item 10)."""

from __future__ import annotations

import cv2
import numpy as np

from factories import write_competition, write_toy_config
from podium.artifacts import read_json
from podium.cli import main

CHANNELS = ["red", "green", "blue", "yellow"]
LABELS = ["a", "b"] * 8


def write_stained(comp, split: str, ids: list[str], labels: list[str], rng) -> None:
    """One grey file per channel: class a bright in red, b in green; every image has the same
    mean over its channels, so the grey mean holds no signal."""
    for i, label in zip(ids, labels, strict=True):
        levels = {"red": 200, "green": 0} if label == "a" else {"red": 0, "green": 200}
        for channel in CHANNELS:
            level = levels.get(channel, 100)
            img = np.clip(level + rng.normal(0, 5, (8, 8)), 0, 255).astype(np.uint8)
            cv2.imwrite(str(comp / split / f"{i}_{channel}.png"), img)


def stained_competition(tmp_path):
    comp = write_competition(tmp_path, LABELS, n_test=2)
    rng = np.random.default_rng(0)
    write_stained(comp, "train", [f"r{i:03d}" for i in range(len(LABELS))], LABELS, rng)
    write_stained(comp, "test", ["t000", "t001"], ["a", "b"], rng)
    return write_toy_config(
        tmp_path,
        name="pixels",
        competition={
            "train_images": "train/{id}_{channel}.png",
            "test_images": "test/{id}_{channel}.png",
        },
        data={"channels": CHANNELS},
        tabular={"model": "logistic", "image_size": 8, "params": {"C": 10.0}},
    )


def test_a_tabular_member_keeps_the_channels_by_default(tmp_path, capsys):
    config = stained_competition(tmp_path)
    assert main(["train", "-c", str(config)]) == 0
    assert "logistic on 256 pixel values" in capsys.readouterr().out  # 8 x 8 x 4 channels
    scores = read_json(tmp_path / "runs/toy/pixels/scores.json")
    assert scores["cv"] == 1.0

    # the old default, asked for: the grey mean of these images carries nothing
    assert main(["train", "-c", str(config), "tabular.grayscale=true", "--force"]) == 0
    assert "logistic on 64 pixel values" in capsys.readouterr().out
    assert read_json(tmp_path / "runs/toy/pixels/scores.json")["cv"] <= 0.75
