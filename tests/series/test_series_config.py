"""`data.slices` in the config: the cache's channels are the depth, the encoder's 2k+1, a
saved config reloads, and settings that cannot hold are named."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from podium.config.schema import DataConfig
from podium.data.read_spec import ReadSpec


def test_a_series_has_depth_channels_and_grey_slices():
    data = DataConfig(slices={"depth": 24, "context": 2})
    assert data.n_channels == 24 and data.channels == 1
    assert len(data.mean) == 24 and data.slices is not None and data.slices.window == 5
    spec = ReadSpec.from_config(data)
    assert spec.depth == 24 and spec.n_channels == 24
    again = DataConfig(**data.model_dump())  # a run's or a bundle's saved config
    assert again.n_channels == 24


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"channels": ["red", "green"]}, "slices are grey"),
        ({"channels": 4}, "slices are grey"),
        ({"slices": {"depth": 8, "sample": 9}}, "sample \\(9\\) cannot exceed depth \\(8\\)"),
        ({"slices": {"depth": 8, "stride": 9}}, "stride \\(9\\) cannot exceed depth \\(8\\)"),
    ],
)
def test_settings_that_cannot_hold_are_named(given, message):
    with pytest.raises(ValidationError, match=message):
        DataConfig(**{"slices": {"depth": 8}, **given})
