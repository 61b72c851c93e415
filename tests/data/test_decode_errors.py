"""Bad image files are never decoded silently (a truncated JPEG used to give a grey lower half
and exit 0): each is detected, and the decode cache names every bad file in one error."""

from __future__ import annotations

import re

import cv2
import numpy as np
import pytest
from pydicom.uid import RLELossless

from factories import write_dicom
from podium.competition import DataError
from podium.data.cache import decode_image, load_images
from podium.data.readers import ImageReadError, ReadSpec, read_image


def photo(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 255, (48, 64, 3), dtype=np.uint8)


def write(path, img) -> bytes:
    cv2.imwrite(str(path), img)
    return path.read_bytes()


def truncate(path, data: bytes, keep: float = 0.6):
    path.write_bytes(data[: int(len(data) * keep)])
    return path


@pytest.fixture
def folder(tmp_path):
    """Two good images, then a truncated JPEG, a truncated PNG and a text file named .png."""
    d = tmp_path / "train"
    d.mkdir()
    good = [d / "ok0.jpg", d / "ok1.png"]
    write(good[0], photo(0))
    write(good[1], photo(1))
    bad_jpg = truncate(d / "a.jpg", write(d / "a.jpg", photo(2)))
    bad_png = truncate(d / "b.png", write(d / "b.png", photo(3)))
    not_image = d / "c.png"
    not_image.write_text("id,label\n1,cat\n")
    return good, [bad_jpg, bad_png, not_image]


def test_a_truncated_jpeg_is_refused_not_greyed(folder):
    _, (bad_jpg, _, _) = folder
    with pytest.raises(ImageReadError, match=r"a\.jpg \(truncated: no JPEG end marker\)"):
        decode_image(bad_jpg, (32, 32))
    # cv2.imread itself fills the missing rows and only warns: this is what the check prevents
    assert cv2.imread(str(bad_jpg)) is not None


def test_a_truncated_png_is_refused(folder):
    _, (_, bad_png, _) = folder
    with pytest.raises(ImageReadError, match=r"b\.png \(truncated: no PNG IEND chunk\)"):
        read_image(bad_png)


@pytest.mark.parametrize("cache", ["memory", "memmap"])
def test_every_bad_file_is_reported_in_one_error(folder, tmp_path, cache):
    good, bad = folder
    cache_dir = tmp_path / "cache" if cache == "memmap" else None
    with pytest.raises(DataError) as err:
        load_images([good[0], *bad, good[1]], (32, 32), cache_dir, "train", progress=False)
    msg = str(err.value)
    assert msg == (
        f"3 images could not be decoded in {bad[0].parent}: "
        "a.jpg (truncated: no JPEG end marker), b.png (truncated: no PNG IEND chunk), "
        "c.png (corrupt or not an image)"
    )
    assert "\n" not in msg
    if cache_dir is not None:  # no half-written cache is left to be reused
        assert not list(cache_dir.glob("*.npy")) and not list(cache_dir.glob(".*"))
    fine = load_images(good, (32, 32), cache_dir, "train", progress=False)
    assert fine.shape == (2, 32, 32, 3)


def test_many_bad_files_list_the_first_twenty(tmp_path):
    paths = []
    for i in range(25):
        paths.append(tmp_path / f"bad{i:02d}.jpg")
        paths[-1].write_bytes(b"\xff\xd8\xff\xe0 cut")
    with pytest.raises(DataError) as err:
        load_images(paths, (8, 8), None, "test", progress=False)
    msg = str(err.value)
    assert msg.startswith(f"25 images could not be decoded in {tmp_path}: bad00.jpg (truncated")
    assert msg.endswith("[first 20 listed]") and len(re.findall(r"bad\d\d\.jpg", msg)) == 20


def test_bytes_after_the_jpeg_end_marker_are_accepted(tmp_path):
    path = tmp_path / "trailer.jpg"
    data = write(path, photo())
    path.write_bytes(data + b"SEFT phone trailer \x00\x01")
    assert read_image(path).shape == (48, 64, 3)


def test_a_missing_or_cut_channel_file_is_named(tmp_path):
    spec = ReadSpec(channels=("red", "green"))
    for i in ("a", "b"):
        cv2.imwrite(str(tmp_path / f"{i}_red.png"), np.zeros((8, 8), np.uint8))
    cv2.imwrite(str(tmp_path / "a_green.png"), np.zeros((8, 8), np.uint8))
    paths = [tmp_path / "a_{channel}.png", tmp_path / "b_{channel}.png"]
    with pytest.raises(
        DataError, match=r"1 image could not be decoded .*: b_green\.png \(file not found\)"
    ):
        load_images(paths, (8, 8), tmp_path / "cache", "train", progress=False, spec=spec)
    with pytest.raises(DataError, match=r"b_green\.png \(file not found\)"):
        load_images(paths, (8, 8), None, "train", progress=False, spec=spec)
    truncate(tmp_path / "b_green.png", write(tmp_path / "b_green.png", photo()[..., 0]))
    with pytest.raises(DataError, match=r"b_green\.png \(truncated: no PNG IEND chunk\)"):
        load_images(paths, (8, 8), None, "train", progress=False, spec=spec)


def dicom(path, syntax=None):
    write_dicom(path, np.arange(64 * 64, dtype=np.uint16).reshape(64, 64), syntax=syntax)
    return path.read_bytes()


@pytest.mark.filterwarnings("ignore::UserWarning")  # pydicom warns about the cut sequence
def test_truncated_dicom_files_are_reported(tmp_path):
    plain = truncate(tmp_path / "plain.dcm", dicom(tmp_path / "plain.dcm"), 0.8)
    rle = truncate(tmp_path / "rle.dcm", dicom(tmp_path / "rle.dcm", RLELossless), 0.8)
    with pytest.raises(DataError) as err:
        load_images([plain, rle], (16, 16), None, "train", progress=False)
    msg = str(err.value)
    assert msg.startswith("2 images could not be decoded")
    assert "plain.dcm (DICOM: The number of bytes of pixel data is less than expected" in msg
    assert "rle.dcm (truncated: pixel data cut short)" in msg


def test_a_read_error_survives_pickling():
    import pickle

    err = pickle.loads(pickle.dumps(ImageReadError("x/a.jpg", "truncated: no JPEG end marker")))
    assert (err.path.name, err.reason) == ("a.jpg", "truncated: no JPEG end marker")
    assert str(err) == "cannot decode image x/a.jpg (truncated: no JPEG end marker)"
