"""`data.volume_size` and its keys: the cache's size and channels follow the volume; a volume
needs a MONAI network and a MONAI network a volume; the depth flip is a volume's view; keys
that contradict each other are one-line config errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from podium.config import ConfigError, load_config

BASE = Path(__file__).resolve().parents[2] / "configs/digits_volumes/base.yaml"


def test_the_volume_decides_the_cache_size_and_channels():
    cfg = load_config(BASE, [])
    assert cfg.data.volume_canvas == (16, 24, 24)
    assert cfg.data.image_size == (24, 24) and cfg.data.n_channels == 16
    assert cfg.data.channels == 1 and cfg.data.mean == (0.5,) * 16
    assert cfg.train.channels_last is False  # 3-D weights are 5-D


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["data.volume_size=[16,30,30]"], "must be at least volume_size"),
        (["model.arch=null"], "needs a 3-D network: set model.arch: monai:"),
        (
            [
                "data.volume_size=null",
                "data.volume_cache_size=null",
                "data.spacing=null",
                "data.volume_flips=[]",
            ],
            "is a 3-D network",
        ),
        (["data.image_size=32"], "leave image_size out"),
        (["data.volume_size=null"], "set data.volume_size too"),
        (["data.spacing=[0,1,1]"], "spacing must be positive"),
        (["data.volume_flips=[w]"], "volume_flips"),
        (["train.stages=[{epochs: 12}]"], "volumes train at data.volume_size"),
    ],
)
def test_contradicting_volume_keys_are_config_errors(overrides, message):
    with pytest.raises(ConfigError, match=message):
        load_config(BASE, overrides)


def test_dflip_needs_a_volume():
    digits = Path(__file__).resolve().parents[2] / "configs/digits/base.yaml"
    with pytest.raises(ConfigError, match="dflip flips a volume's depth"):
        load_config(digits, ["infer.tta=[identity,dflip]"])
