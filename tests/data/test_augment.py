"""Training augmentations from the config: albumentations classes by name, built strictly so
a typo in a transform or an argument is an error instead of a silent no-op."""

from __future__ import annotations

import numpy as np
import pytest

from podium.config import AugmentConfig, ConfigError
from podium.data.augment import build_train_transform


def augs(*specs: dict) -> list[AugmentConfig]:
    return [AugmentConfig(**s) for s in specs]


def test_no_augmentations_means_no_pipeline():
    assert build_train_transform([], (16, 16)) is None


def test_pipeline_is_built_and_reproducible_from_a_seed():
    t = build_train_transform(
        augs({"name": "Affine", "rotate": [-30, 30], "p": 1.0}, {"name": "HorizontalFlip"}),
        (16, 16),
    )
    img = np.random.default_rng(0).integers(0, 255, (16, 16, 3), dtype=np.uint8)
    outs = []
    for seed in (5, 5, 6):
        t.set_random_seed(seed)
        outs.append(t(image=img)["image"])
    assert outs[0].shape == img.shape and outs[0].dtype == np.uint8
    np.testing.assert_array_equal(outs[0], outs[1])
    assert not np.array_equal(outs[0], outs[2])


def test_unknown_transform_suggests_the_closest_name():
    with pytest.raises(
        ConfigError,
        match=r"data\.train_augs\[1\]: unknown .* 'HorizontalFlp'; did you mean 'HorizontalFlip'",
    ):
        build_train_transform(augs({"name": "Affine"}, {"name": "HorizontalFlp"}), (16, 16))


@pytest.mark.filterwarnings("ignore:Argument")  # albumentations warns before strict raises
def test_unknown_argument_is_an_error_not_a_warning():
    with pytest.raises(ConfigError, match=r"data\.train_augs.*'probability'.*HorizontalFlip"):
        build_train_transform(augs({"name": "HorizontalFlip", "probability": 0.5}), (16, 16))


def test_invalid_argument_value_names_the_transform():
    with pytest.raises(ConfigError, match=r"(?s)data\.train_augs\[0\] \(Affine\).*rotate"):
        build_train_transform(augs({"name": "Affine", "rotate": "a lot"}), (16, 16))
