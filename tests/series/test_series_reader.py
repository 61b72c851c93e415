"""A study's DICOM series read as one (H, W, depth) uint8 image: shuffled file names give
identical arrays (the order is the positions'), one window for the whole series, `.npy`
volumes, and the decode cache's name following a slice rewritten in place."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from podium.data.cache import cache_key, load_images
from podium.data.read_spec import ImageReadError, ReadSpec
from podium.data.readers import read_image
from podium.series.dicom_writer import new_series_ids, write_slice

SIZE, N = 12, 9


def volume(seed: int = 0) -> np.ndarray:
    """(N, SIZE, SIZE) HU: each slice's level is its index, so any misorder shows."""
    rng = np.random.default_rng(seed)
    levels = np.linspace(-100, 300, N)[:, None, None]
    return levels + rng.normal(0, 5, (N, SIZE, SIZE))


def write_series(folder: Path, hu: np.ndarray, names: list[str], orientation=None) -> None:
    folder.mkdir(parents=True)
    ids = new_series_ids("p1", np.random.default_rng(1))
    row, col = np.array([0.96, 0.0, -0.28]), np.array([0.0, 1.0, 0.0])
    normal = np.cross(row, col)
    for s, name in enumerate(names):
        write_slice(
            folder / name,
            hu[s],
            ids,
            instance=len(names) - s,  # numbered against the normal: no disagreement
            position=tuple(float(v) for v in (3.0 + 2.5 * s) * normal),
            orientation=orientation[s] if orientation else (*row, *col),
        )


def test_shuffled_file_names_give_identical_arrays(tmp_path):
    hu = volume()
    write_series(tmp_path / "a", hu, [f"{s:03d}.dcm" for s in range(N)])
    rng = np.random.default_rng(7)
    names = [f"{int(v):016x}.dcm" for v in rng.integers(0, 2**62, N)]
    write_series(tmp_path / "b", hu, names)
    spec = ReadSpec(depth=N)
    a, b = read_image(tmp_path / "a", spec), read_image(tmp_path / "b", spec)
    assert a.shape == (SIZE, SIZE, N) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, b)
    means = a.reshape(-1, N).mean(axis=0)
    assert (np.diff(means) > 0).all()  # slices in position order, one window for all


def test_the_files_window_applies_to_every_slice(tmp_path):
    write_series(tmp_path / "s", volume(), [f"{s}.dcm" for s in range(N)])
    img = read_image(tmp_path / "s", ReadSpec(depth=N))
    # the files' window: centre 40, width 400 -> [-160, 240] HU; -100 HU is about 38
    assert abs(float(img[..., 0].mean()) - 38) < 4 and img[..., -1].mean() > 250


def test_resampled_to_the_configured_depth(tmp_path):
    write_series(tmp_path / "s", volume(), [f"{s}.dcm" for s in range(N)])
    assert read_image(tmp_path / "s", ReadSpec(depth=4)).shape == (SIZE, SIZE, 4)
    assert read_image(tmp_path / "s", ReadSpec(depth=20)).shape == (SIZE, SIZE, 20)


def test_npy_volumes_are_series_too(tmp_path):
    np.save(tmp_path / "v.npy", volume().astype(np.float32))
    img = read_image(tmp_path / "v.npy", ReadSpec(depth=N, window=(-160, 240)))
    assert img.shape == (SIZE, SIZE, N) and abs(float(img[..., 0].mean()) - 38) < 4


def test_a_folder_without_data_slices_is_named(tmp_path):
    write_series(tmp_path / "s", volume(), [f"{s}.dcm" for s in range(N)])
    with pytest.raises(ImageReadError, match="a folder, not an image .*set data.slices"):
        read_image(tmp_path / "s", ReadSpec())


def test_a_slice_that_is_not_dicom_names_the_file_and_series(tmp_path):
    write_series(tmp_path / "s", volume(), [f"{s}.dcm" for s in range(N)])
    (tmp_path / "s" / "3.dcm").write_bytes(b"not a dicom file at all")
    with pytest.raises(ImageReadError) as e:
        read_image(tmp_path / "s", ReadSpec(depth=N))
    assert e.value.path.name == "3.dcm" and "series" in e.value.reason


def test_the_cache_key_follows_a_slice_rewritten(tmp_path):
    write_series(tmp_path / "s", volume(), [f"{s}.dcm" for s in range(N)])
    spec = ReadSpec(depth=N)
    before = cache_key([tmp_path / "s"], (SIZE, SIZE), spec)
    images = load_images([tmp_path / "s"], (8, 8), tmp_path / "cache", "train", False, spec=spec)
    assert images.shape == (1, 8, 8, N)
    (tmp_path / "s" / "4.dcm").unlink()
    assert cache_key([tmp_path / "s"], (SIZE, SIZE), spec) != before


def test_an_empty_series_folder_is_named(tmp_path):
    (tmp_path / "s").mkdir()
    with pytest.raises(ImageReadError, match="an empty series folder"):
        read_image(tmp_path / "s", ReadSpec(depth=4))
