"""`data.slices.spacing`: a series resampled along its normal to a fixed slice spacing before
the depth resampling: 2 mm to 1 mm gives twice the slices minus one with exact midpoints,
uneven gaps and shared places are handled, the reader uses the slices' positions (a `.npy`
has none: refused), and the decode cache's name follows the spacing."""

from __future__ import annotations

import numpy as np
import pytest

from podium.config.schema import DataConfig
from podium.data.cache import cache_key
from podium.data.read_spec import ImageReadError, ReadSpec
from podium.data.readers import read_image
from podium.series.dicom_writer import new_series_ids, write_slice
from podium.series.resample import resample_spacing


def test_two_mm_to_one_mm_gives_exact_midpoints():
    n = 6
    volume = np.arange(n, dtype=np.float32)[:, None, None] * 10 + np.zeros((n, 3, 4), np.float32)
    places = 5.0 + 2.0 * np.arange(n)
    out = resample_spacing(volume, places, 1.0)
    assert out.shape == (2 * n - 1, 3, 4) and out.dtype == np.float32
    np.testing.assert_array_equal(out[::2], volume)  # the original slices, unchanged
    np.testing.assert_array_equal(out[1::2], (volume[:-1] + volume[1:]) / 2)  # midpoints


def test_uneven_gaps_interpolate_by_distance():
    volume = np.array([0.0, 10.0, 40.0], np.float32)[:, None, None]
    places = np.array([0.0, 1.0, 4.0])  # a 1 mm then a 3 mm gap
    out = resample_spacing(volume, places, 1.0)
    np.testing.assert_allclose(out[:, 0, 0], [0, 10, 20, 30, 40], atol=1e-5)
    coarse = resample_spacing(volume, places, 1.5)  # 0, 1.5, 3.0: the last place not reached
    np.testing.assert_allclose(coarse[:, 0, 0], [0, 15, 30], atol=1e-5)


def test_slices_sharing_a_place_are_averaged():
    volume = np.array([0.0, 2.0, 4.0, 8.0], np.float32)[:, None, None]
    out = resample_spacing(volume, np.array([0.0, 0.0, 2.0, 4.0]), 2.0)
    np.testing.assert_allclose(out[:, 0, 0], [1, 4, 8])


def test_one_slice_stays_one():
    out = resample_spacing(np.ones((1, 2, 2)), np.array([3.0]), 1.0)
    assert out.shape == (1, 2, 2)


def write_series(folder, levels, step):
    folder.mkdir()
    ids = new_series_ids("p", np.random.default_rng(0))
    normal = np.array([0.0, 0.0, 1.0])
    for s, level in enumerate(levels):
        hu = np.full((6, 6), level, np.float32)
        position = tuple(float(v) for v in 7.0 + step * s * normal)
        write_slice(folder / f"{s:02d}.dcm", hu, ids, s + 1, position)


def test_the_reader_resamples_by_position_before_the_depth(tmp_path):
    levels = [-100.0, 0.0, 100.0, 200.0]  # 2.5 mm apart: 7.5 mm -> 4 slices at 2.5, 7 at 1.25
    write_series(tmp_path / "s", levels, 2.5)
    data = DataConfig(window=[-160, 240], slices={"depth": 7, "spacing": 1.25})
    spec = ReadSpec.from_config(data)
    assert spec.slice_spacing == 1.25
    img = read_image(tmp_path / "s", spec)  # 7 slices at 1.25 mm: no depth resampling
    hu = np.interp(np.arange(7) * 1.25, np.arange(4) * 2.5, levels)
    want = np.clip(np.floor((hu + 160) * 255 / 400 + 0.5), 0, 255)
    np.testing.assert_allclose(img[0, 0].astype(float), want, atol=1)


def test_a_npy_series_has_no_positions(tmp_path):
    np.save(tmp_path / "v.npy", np.zeros((4, 5, 5), np.float32))
    spec = ReadSpec(depth=4, slice_spacing=1.0, window=(0, 1))
    with pytest.raises(ImageReadError, match=r"data.slices.spacing needs the slices' positions"):
        read_image(tmp_path / "v.npy", spec)


def test_the_cache_name_follows_the_spacing(tmp_path):
    write_series(tmp_path / "s", [0.0, 1.0], 2.0)
    keys = {
        cache_key([tmp_path / "s"], (6, 6), ReadSpec.from_config(DataConfig(slices=slices)))
        for slices in ({"depth": 4}, {"depth": 4, "spacing": 1.0}, {"depth": 4, "spacing": 0.5})
    }
    assert len(keys) == 3


def test_a_spacing_must_be_positive():
    with pytest.raises(ValueError, match="spacing"):
        DataConfig(slices={"depth": 4, "spacing": 0})
