"""The decode cache: images decoded once into uint8 RGB at the configured size, in memory or
as a memmap that later runs reuse, and rebuilt when the image files change."""

from __future__ import annotations

import os

import cv2
import numpy as np
import pytest

from podium.competition import DataError
from podium.data import cache
from podium.data.cache import decode_image, load_images
from podium.digests import STORE_NAME


@pytest.fixture
def images(tmp_path):
    """Three 12x12 images whose channels differ, so an RGB/BGR mix-up shows."""
    paths = []
    for i in range(3):
        rgb = np.zeros((12, 12, 3), np.uint8)
        rgb[..., 0] = 200  # red
        rgb[..., 2] = 10 * i  # blue
        path = tmp_path / f"im{i}.png"
        cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        paths.append(path)
    return paths


def test_decode_gives_rgb_at_the_requested_size(images):
    img = decode_image(images[2], (6, 8))
    assert img.shape == (6, 8, 3) and img.dtype == np.uint8
    assert (img[..., 0] == 200).all() and (img[..., 2] == 20).all()


def test_corrupt_image_is_named(tmp_path):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"not a png")
    with pytest.raises(DataError, match=r"cannot decode image .*broken\.png"):
        decode_image(bad, (8, 8))


def test_memory_and_memmap_caches_agree(images, tmp_path):
    in_memory = load_images(images, (12, 12), None, "train", progress=False)
    mapped = load_images(images, (12, 12), tmp_path / "cache", "train", progress=False)
    assert isinstance(mapped, np.memmap) and mapped.shape == (3, 12, 12, 3)
    np.testing.assert_array_equal(in_memory, mapped)
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == [
        STORE_NAME,  # the files' content digests (podium.digests)
        next((tmp_path / "cache").glob("train-12x12-*.npy")).name,
    ]  # no temp files left behind


def test_a_memmap_is_reused_and_rebuilt_when_images_change(images, tmp_path, monkeypatch):
    first = load_images(images, (12, 12), tmp_path, "train", progress=False)
    decoded = []
    real = cache.decode_image
    monkeypatch.setattr(cache, "decode_image", lambda p, s, *a: decoded.append(p) or real(p, s, *a))
    again = load_images(images, (12, 12), tmp_path, "train", progress=False)
    assert decoded == [] and again.filename == first.filename  # nothing decoded twice

    rgb = np.full((12, 12, 3), 99, np.uint8)
    cv2.imwrite(str(images[1]), rgb)
    st = images[1].stat()
    os.utime(images[1], ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    changed = load_images(images, (12, 12), tmp_path, "train", progress=False)
    assert len(decoded) == 3 and changed.filename != first.filename
    assert (changed[1] == 99).all()
    other_size = load_images(images, (6, 6), tmp_path, "train", progress=False)
    assert other_size.shape == (3, 6, 6, 3)
