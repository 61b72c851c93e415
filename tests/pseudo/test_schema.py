"""The `pseudo:` section: errors name the key, and the section is part of the training hash."""

from __future__ import annotations

import pytest

from podium.config import ConfigError, from_dict
from podium.fingerprint import fingerprint
from podium.units.stamps import training_config


def test_section_errors_name_the_key(tiny_config):
    with pytest.raises(ConfigError, match=r"pseudo.treshold.*did you mean 'pseudo.threshold'"):
        tiny_config("pseudo.teacher=t.yaml", "pseudo.treshold=0.9")
    with pytest.raises(ConfigError, match=r"pseudo.threshold: .*less than or equal to 1"):
        tiny_config("pseudo.teacher=t.yaml", "pseudo.threshold=1.5")
    with pytest.raises(ConfigError, match="nothing to label"):
        tiny_config("pseudo.teacher=t.yaml", "pseudo.use_test=false")
    with pytest.raises(ConfigError, match="no `pseudo:` section"):
        tiny_config().section("pseudo")


def test_pseudo_section_is_part_of_the_training_hash():
    base = {"name": "s", "competition": {"name": "digits"}, "pseudo": {"teacher": "t.yaml"}}
    a = from_dict(base)
    b = from_dict({**base, "pseudo": {"teacher": "t.yaml", "threshold": 0.5}})
    assert fingerprint(training_config(a)) != fingerprint(training_config(b))
