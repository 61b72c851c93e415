"""Images that are not RGB reach the model: a 1-channel (grey) and a 4-channel competition
(one file per named channel, `{channel}` in the image path) validate, train one epoch of
timm's `test_convnext` with `in_chans` from `data.channels`, and predict OOF and test; mean
and std follow the channel count; the image paths name a missing channel file; the decode
cache key covers the reader settings; augmentations and TTA views keep C channels."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
import torch

from podium.competition import Competition
from podium.config import AugmentConfig, ConfigError, ModelConfig, from_dict
from podium.config.inputs import IMAGENET_MEAN, default_normalisation
from podium.data.augment import build_train_transform
from podium.data.cache import cache_key
from podium.data.dataset import ImageDataset
from podium.data.read_spec import ReadSpec
from podium.data.tta import get_view
from podium.errors import DataError
from podium.experiment import Experiment
from podium.models import create_model
from podium.predictions import read_oof, read_test
from podium.stages import folds as folds_stage
from podium.stages import infer as infer_stage
from podium.stages import oof as oof_stage
from podium.stages import train as train_stage
from podium.validate import validate

NAMES = ["red", "green", "blue", "yellow"]


def write_channel_competition(root: Path, channels: int | list[str], n: int = 8) -> Path:
    """root/toy: grey PNGs (channels=1) or one PNG per named channel (`{id}_{name}.png`)
    whose level tells the two classes apart."""
    comp = root / "toy"
    labels = ["a", "b"] * (n // 2)
    splits = {"train": [f"r{i}" for i in range(n)], "test": [f"t{i}" for i in range(3)]}
    for split, ids in splits.items():
        (comp / split).mkdir(parents=True, exist_ok=True)
        for k, i in enumerate(ids):
            level = 40 if k % 2 == 0 else 200
            if isinstance(channels, list):
                for c, name in enumerate(channels):
                    img = np.full((12, 12), (level + 10 * c) % 256, np.uint8)
                    cv2.imwrite(str(comp / split / f"{i}_{name}.png"), img)
            else:
                cv2.imwrite(str(comp / split / f"{i}.png"), np.full((12, 12), level, np.uint8))
    pd.DataFrame({"id": splits["train"], "label": labels}).to_csv(comp / "train.csv", index=False)
    pd.DataFrame({"id": splits["test"], "label": "a"}).to_csv(
        comp / "sample_submission.csv", index=False
    )
    return comp


def channel_config(root: Path, channels: int | list[str], **data) -> object:
    template = "{split}/{id}_{channel}.png" if isinstance(channels, list) else "{split}/{id}.png"
    return from_dict(
        {
            "name": "chan",
            "competition": {
                "name": "toy",
                "solution": None,
                "train_images": template.replace("{split}", "train"),
                "test_images": template.replace("{split}", "test"),
            },
            "data": {"image_size": 32, "num_workers": 0, "channels": channels, **data},
            "folds": {"n_splits": 2},
            "model": {"name": "test_convnext"},
            "train": {"epochs": 1, "batch_size": 4, "progress": False, "device": "cpu"},
            "infer": {"tta": ["identity", "hflip"], "batch_size": 8},
            "paths": {
                "data": str(root),
                "runs": str(root / "runs"),
                "submissions": str(root / "submissions"),
            },
        }
    )


@pytest.mark.parametrize("channels", [1, NAMES], ids=["grey", "four-named"])
def test_one_and_four_channel_competitions_train_and_predict(tmp_path, channels):
    write_channel_competition(tmp_path, channels)
    cfg = channel_config(tmp_path, channels)
    n = 1 if channels == 1 else 4
    validate(cfg)
    folds_stage.run(cfg)
    exp = Experiment(cfg)
    assert exp.train_images.shape == (8, 32, 32, n)
    train_stage.run(exp)
    state = torch.load(exp.unit_dir(0, 0) / "best.pt", weights_only=True)["model"]
    stem = next(v for k, v in state.items() if v.ndim == 4)
    assert stem.shape[1] == n  # the model's first convolution takes the data's channels
    oof_stage.run(Experiment(cfg))
    infer_stage.run(Experiment(cfg))
    ids, fold = exp.comp.train_ids, exp.fold_of_row
    oof = read_oof(exp.run_dir / "oof.parquet", exp.task, ids, fold)
    test = read_test(exp.run_dir / "test.parquet", exp.task, exp.comp.test_ids)
    assert oof.shape == (8, 2) and test.shape == (3, 2)


def test_create_model_takes_in_chans():
    for n in (1, 4):
        model = create_model(ModelConfig(name="test_convnext"), num_classes=2, in_chans=n)
        assert model(torch.zeros(1, n, 32, 32)).shape == (1, 2)


def test_mean_and_std_follow_the_channel_count(tmp_path):
    assert default_normalisation(3) == (IMAGENET_MEAN, (0.229, 0.224, 0.225))
    assert default_normalisation(1) == ((0.449,), (0.226,))
    assert default_normalisation(4) == ((0.5,) * 4, (0.25,) * 4)
    assert channel_config(tmp_path, NAMES).data.mean == (0.5,) * 4
    assert channel_config(tmp_path, 1).data.std == (0.226,)
    given = channel_config(tmp_path, 2, mean=[0.1, 0.2], std=[0.3, 0.4]).data
    assert (given.mean, given.std) == ((0.1, 0.2), (0.3, 0.4))
    with pytest.raises(ConfigError, match=r"mean has 3 values but channels gives 4 channel"):
        channel_config(tmp_path, NAMES, mean=[0.4, 0.4, 0.4])
    with pytest.raises(ConfigError, match=r"std values must be positive"):
        channel_config(tmp_path, 1, std=[0.0])


def test_a_missing_channel_file_is_named(tmp_path):
    comp_dir = write_channel_competition(tmp_path, NAMES)
    (comp_dir / "train" / "r3_yellow.png").unlink()
    comp = Competition.from_config(channel_config(tmp_path, NAMES))
    with pytest.raises(DataError) as err:
        comp.image_paths("train")
    assert str(err.value) == (
        f"image not found: {comp_dir / 'train' / 'r3_yellow.png'} (id 'r3', channel 'yellow', "
        f"line 5 of {comp_dir / 'train.csv'})"
    )
    # a path keeps its literal {channel}: the reader fills it
    assert comp.image_paths("test")[0] == comp_dir / "test" / "t0_{channel}.png"


def test_channel_names_need_the_placeholder_and_a_count_refuses_it(tmp_path):
    write_channel_competition(tmp_path, NAMES)
    cfg = channel_config(tmp_path, NAMES)
    cfg.competition.train_images = "train/{id}.png"
    with pytest.raises(DataError, match=r"has no \{channel\}, but data.channels names"):
        Competition.from_config(cfg).image_paths("train")
    cfg = channel_config(tmp_path, 4)
    cfg.competition.train_images = "train/{id}_{channel}.png"
    with pytest.raises(DataError, match=r"has \{channel\}, but data.channels is a count"):
        Competition.from_config(cfg).image_paths("train")


def test_the_cache_key_covers_the_reader_settings(tmp_path):
    comp_dir = write_channel_competition(tmp_path, 1)
    paths = sorted((comp_dir / "train").glob("*.png"))
    keys = {
        cache_key(paths, (16, 16), spec)
        for spec in (
            ReadSpec(),
            ReadSpec(channels=1),
            ReadSpec(resize="pad"),
            ReadSpec(pad_value=3, resize="pad"),
            ReadSpec(window=(0.0, 100.0)),
            ReadSpec(percentiles=(1.0, 99.0)),
        )
    }
    assert len(keys) == 6


@pytest.mark.parametrize("n", [1, 4])
def test_geometric_augmentations_and_tta_views_keep_the_channels(n):
    augs = [
        AugmentConfig(name="HorizontalFlip", p=1.0),
        AugmentConfig(name="Affine", rotate=[-10, 10], scale=[0.9, 1.1], p=1.0),
        AugmentConfig(name="RandomResizedCrop", size=[12, 12], p=1.0),
    ]
    transform = build_train_transform(augs, (16, 16), n_channels=n)
    images = np.random.default_rng(0).integers(0, 256, (2, 16, 16, n), dtype=np.uint8)
    data = ImageDataset(images, np.zeros((2, 2), np.float32), None, transform, (16, 16))
    img, _, _ = data[(0, 7)]
    assert tuple(img.shape) == (16, 16, n)  # the crop's 12x12 is resized back with C kept
    batch = torch.zeros(2, n, 16, 16)
    for view in ("hflip", "rot90", "scale1.1", "shift2_-1"):
        assert tuple(get_view(view)(batch).shape) == (2, n, 16, 16)


def test_a_colour_transform_that_refuses_the_channels_is_named():
    augs = [AugmentConfig(name="HorizontalFlip"), AugmentConfig(name="CLAHE", p=0.1)]
    build_train_transform(augs, (16, 16), n_channels=3)
    with pytest.raises(ConfigError) as err:
        build_train_transform(augs, (16, 16), n_channels=4)
    assert str(err.value).startswith(
        "data.train_augs[1] (CLAHE): does not work on 4-channel images (data.channels): "
    )


def test_eda_notebook_reads_named_channels_and_mixed_sizes(tmp_path, monkeypatch):
    import nbformat
    import yaml
    from nbclient import NotebookClient

    comp = write_channel_competition(tmp_path, NAMES)
    for name in NAMES:  # one image of another shape: the sizes section shows two aspects
        cv2.imwrite(str(comp / "train" / f"r0_{name}.png"), np.full((12, 24), 50, np.uint8))
    cfg = channel_config(tmp_path, NAMES)
    config = tmp_path / "chan.yaml"
    config.write_text(yaml.safe_dump(cfg.resolved()))
    monkeypatch.setenv("PODIUM_CONFIG", str(config))
    monkeypatch.setenv("PODIUM_ROOT", str(tmp_path))
    monkeypatch.setenv("PODIUM_SAMPLE", "8")
    nb = nbformat.read(Path(__file__).parents[2] / "notebooks" / "eda.ipynb", as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3").execute(cwd=str(tmp_path))
    text = "\n".join(
        out.get("text", "") + out.get("data", {}).get("text/plain", "")
        for cell in nb.cells
        for out in cell.get("outputs", [])
    )
    assert "channels: 4 (red, green, blue, yellow)" in text
    assert "yellow" in text.split("data.std")[-1]  # the statistics table is labelled by name
    assert "data.mean: [" in text and "2.0" in text  # a 24x12 image: aspect 2
