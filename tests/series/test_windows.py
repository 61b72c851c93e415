"""`data.windows`: several [center, width] windows of a DICOM stacked as channels; a 2-D
DICOM of known HU gives the expected channels, a series gives each slice len(windows)
channels, the 2.5D network sees (2k+1) * len(windows), the cache's name follows the windows,
and the settings that cannot hold are one line each."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from pydantic import ValidationError
from torch import nn

from podium.config.schema import DataConfig
from podium.data.cache import cache_key
from podium.data.read_spec import ImageReadError, ReadSpec
from podium.data.readers import read_image
from podium.series.dicom_writer import new_series_ids, write_slice
from podium.series.network import SliceStackNet

RSNA = [[40, 80], [80, 200], [600, 2800]]  # brain, subdural, bone


def expected(hu: float, center: float, width: float) -> int:
    low = center - width / 2
    return int(np.clip(np.floor((hu - low) * 255.0 / width + 0.5), 0, 255))


def test_a_dicom_of_known_hu_gives_one_channel_per_window(tmp_path):
    values = np.array([-1000, 0, 20, 40, 60, 100, 180, 700, 2000], np.float32)
    hu = np.tile(values, (4, 1))
    write_slice(tmp_path / "a.dcm", hu, new_series_ids("p", np.random.default_rng(0)), 1, (0, 0, 0))
    data = DataConfig(windows=RSNA)
    assert data.channels == 3 and data.n_channels == 3
    img = read_image(tmp_path / "a.dcm", ReadSpec.from_config(data))
    assert img.shape == (4, 9, 3) and img.dtype == np.uint8
    for c, (center, width) in enumerate(RSNA):
        want = [expected(v, center, width) for v in values]
        assert img[0, :, c].tolist() == want, (center, width)
    assert img[0, :, 0].tolist() == [0, 0, 64, 128, 191, 255, 255, 255, 255]


def test_monochrome1_is_inverted_after_each_window(tmp_path):
    import pydicom

    hu = np.tile(np.array([0, 40, 80, 700], np.float32), (2, 1))
    ids = new_series_ids("p", np.random.default_rng(0))
    write_slice(tmp_path / "a.dcm", hu, ids, 1, (0, 0, 0))
    ds = pydicom.dcmread(tmp_path / "a.dcm")
    ds.PhotometricInterpretation = "MONOCHROME1"
    ds.save_as(tmp_path / "b.dcm")
    spec = ReadSpec.from_config(DataConfig(windows=RSNA))
    a, b = read_image(tmp_path / "a.dcm", spec), read_image(tmp_path / "b.dcm", spec)
    np.testing.assert_array_equal(b, 255 - a)


def test_a_series_gives_each_slice_every_window(tmp_path):
    ids, folder = new_series_ids("p", np.random.default_rng(0)), tmp_path / "s"
    folder.mkdir()
    levels = [0.0, 40.0, 80.0, 160.0]
    for s, level in enumerate(levels):
        hu = np.full((6, 6), level, np.float32)
        write_slice(folder / f"{s}.dcm", hu, ids, s + 1, (0.0, 0.0, 2.0 * s))
    data = DataConfig(windows=RSNA[:2], slices={"depth": 4, "context": 1})
    assert data.n_channels == 8 and data.channels == 1 and len(data.mean) == 8
    img = read_image(folder, ReadSpec.from_config(data))
    assert img.shape == (6, 6, 8)
    want = [expected(v, c, w) for v in levels for c, w in RSNA[:2]]  # slice-major
    assert img[0, 0].tolist() == want


class Flat(nn.Module):
    """An encoder that returns its input's per-channel means (to read what it was given)."""

    num_features = 6

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3))


def test_the_encoder_gets_each_neighbours_windows_together():
    net = SliceStackNet(Flat(), 1, context=1, head="mean", channels=2)
    depth = 4
    x = torch.arange(depth * 2, dtype=torch.float32)[None, :, None, None].expand(1, -1, 3, 3)
    win = net.windows(x.contiguous(), torch.arange(depth))
    assert win.shape == (1, depth, 6, 3, 3)
    first, second = win[0, 0, :, 0, 0].tolist(), win[0, 1, :, 0, 0].tolist()
    assert first == [0, 1, 0, 1, 2, 3]  # the edge repeats slice 0 (both its windows)
    assert second == [0, 1, 2, 3, 4, 5]
    assert net.slice_features(x.contiguous()).shape == (1, depth, 6)


def test_the_cache_name_follows_the_windows(tmp_path):
    write_slice(
        tmp_path / "a.dcm",
        np.zeros((4, 4)),
        new_series_ids("p", np.random.default_rng(0)),
        1,
        (0, 0, 0),
    )
    one = ReadSpec.from_config(DataConfig(windows=RSNA))
    other = ReadSpec.from_config(DataConfig(windows=[[40, 80], [80, 200], [600, 2000]]))
    keys = {cache_key([tmp_path / "a.dcm"], (4, 4), s) for s in (one, other, ReadSpec())}
    assert len(keys) == 3


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"windows": [[40, 0]]}, r"windows\[0\] is \[center, width\] with width > 0"),
        ({"windows": [[40, 80], [80, -2]]}, r"windows\[1\] is \[center, width\] with width > 0"),
        ({"windows": []}, "give at least one"),
        ({"windows": RSNA, "window": [0, 80]}, "windows and window"),
        ({"windows": RSNA, "dicom_window": [0, 80]}, "windows and dicom_window"),
        ({"windows": RSNA, "channels": 2}, r"channels \(2\) must be the number of windows \(3\)"),
    ],
)
def test_settings_that_cannot_hold_are_named(given, message):
    with pytest.raises(ValidationError, match=message):
        DataConfig(**given)


def test_windows_on_a_png_is_named(tmp_path):
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((4, 4), np.uint16))
    spec = ReadSpec.from_config(DataConfig(windows=RSNA))
    with pytest.raises(ImageReadError, match="data.windows windows DICOM images only; this is png"):
        read_image(tmp_path / "a.png", spec)


def test_a_saved_config_reloads(tmp_path: Path):
    data = DataConfig(windows=RSNA, slices={"depth": 4})
    again = DataConfig(**data.model_dump())
    assert again.n_channels == 12 and again.windows == data.windows
