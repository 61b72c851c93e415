"""A volume's geometry: resampling to a spacing (MONAI's Spacing), the centred crop or pad of
the cache, the random training crops and flips, and the cache reader putting them together."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from podium.data.read_spec import ReadSpec
from podium.data.readers import read_image
from podium.volumes.crop import center_crop_or_pad, random_crop, random_flips
from podium.volumes.demo import write_nifti
from podium.volumes.spacing import resample_to_spacing


def test_resampling_to_a_finer_spacing_keeps_the_extent_and_the_values():
    z = np.arange(10, dtype=np.float32)[:, None, None] * np.ones((1, 8, 8), np.float32)
    out = resample_to_spacing(z, (2.0, 1.0, 1.0), (1.0, 1.0, 1.0))
    assert out.shape[1:] == (8, 8) and 18 <= out.shape[0] <= 20  # 10 slices of 2 mm -> ~1 mm
    profile = out[:, 4, 4]
    assert (np.diff(profile) >= -1e-5).all() and profile.min() >= 0 and profile.max() <= 9 + 1e-5
    same = resample_to_spacing(z, (1.5, 1.0, 1.0), (1.5, 1.0, 1.0))
    np.testing.assert_array_equal(same, z)


def test_two_spacings_of_one_anatomy_resample_to_one_shape(tmp_path):
    spec = ReadSpec(volume=(12, 16, 16), spacing=(2.0, 1.0, 1.0), window=(0.0, 1.0))
    for name, spacing, shape in (
        ("fine", (1.0, 0.5, 0.5), (24, 32, 32)),
        ("coarse", (4.0, 2.0, 2.0), (6, 8, 8)),
    ):
        write_nifti(tmp_path / f"{name}.nii.gz", np.ones(shape, np.float32), spacing)
    fine = read_image(tmp_path / "fine.nii.gz", spec)
    coarse = read_image(tmp_path / "coarse.nii.gz", spec)
    assert fine.shape == coarse.shape == (16, 16, 12)
    # both cover 24 x 16 x 16 mm: at 2 x 1 x 1 mm that is 12 x 16 x 16 voxels, all inside
    assert fine.min() == 255 and coarse[2:-2, 2:-2, 1:-1].min() == 255


def test_center_crop_or_pad_is_centred_and_pads_with_the_value():
    v = np.arange(2 * 3 * 8, dtype=np.float32).reshape(2, 3, 8)
    out = center_crop_or_pad(v, (4, 5, 6), pad_value=-1)
    assert out.shape == (4, 5, 6)
    np.testing.assert_array_equal(out[1:3, 1:4, :], v[:, :, 1:7])
    assert (out[0] == -1).all() and (out[:, 0] == -1).all()


def test_random_crops_are_sub_blocks_at_their_own_places():
    torch.manual_seed(0)
    x = (
        torch.arange(8 * 10 * 12, dtype=torch.float32)
        .reshape(1, 1, 8, 10, 12)
        .repeat(16, 1, 1, 1, 1)
    )
    crops = random_crop(x, (4, 5, 6))
    assert crops.shape == (16, 1, 4, 5, 6)
    corners = {float(c[0, 0, 0, 0]) for c in crops}
    assert len(corners) > 1  # each volume its own place
    for c in crops:  # a contiguous block: steps of 1 along x, 12 along y, 120 along z
        assert torch.all(c[0, :, :, 1:] - c[0, :, :, :-1] == 1)
        assert torch.all(c[0, :, 1:] - c[0, :, :-1] == 12)
        assert torch.all(c[0, 1:] - c[0, :-1] == 120)


def test_random_flips_flip_only_the_named_axes():
    torch.manual_seed(0)
    x = torch.randn(32, 1, 3, 4, 5)
    out = random_flips(x, ["z"])
    for a, b in zip(x, out, strict=True):
        assert torch.equal(a, b) or torch.equal(a.flip(-3), b)
    assert not torch.equal(out, x) and not torch.equal(out, x.flip(-3))  # about half flipped
    assert torch.equal(random_flips(x, []), x)


def test_a_cache_canvas_smaller_than_the_volume_crops_it_centred(tmp_path):
    v = np.zeros((10, 10, 10), np.float32)
    v[5, 5, 5] = 1.0
    write_nifti(tmp_path / "v.nii", v, (1.0, 1.0, 1.0))
    image = read_image(tmp_path / "v.nii", ReadSpec(volume=(4, 4, 4), window=(0.0, 1.0)))
    assert image.shape == (4, 4, 4) and image[2, 2, 2] == 255 and image.sum() == 255


@pytest.mark.parametrize("canvas", [(6, 6, 6), (9, 9, 9)])
def test_a_npy_volume_is_taken_at_the_target_spacing(tmp_path, canvas):
    np.save(tmp_path / "v.npy", np.ones((6, 6, 6), np.uint8) * 255)
    image = read_image(tmp_path / "v.npy", ReadSpec(volume=canvas, spacing=(3.0, 3.0, 3.0)))
    assert image.shape == (canvas[1], canvas[2], canvas[0])
    assert int((image == 255).sum()) == 216  # not resampled; padded with 0 around


def test_the_cache_name_follows_the_volume_settings(tmp_path):
    from podium.data.cache import cache_key

    write_nifti(tmp_path / "v.nii.gz", np.ones((4, 4, 4), np.float32), (1.0, 1.0, 1.0))
    paths, size = [tmp_path / "v.nii.gz"], (4, 4)
    keys = {
        cache_key(paths, size, ReadSpec(volume=(4, 4, 4))),
        cache_key(paths, size, ReadSpec(volume=(4, 4, 4), spacing=(2.0, 1.0, 1.0))),
        cache_key(paths, size, ReadSpec(volume=(6, 4, 4))),
    }
    assert len(keys) == 3  # a new spacing or shape is a new cache, not stale voxels
