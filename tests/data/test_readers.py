"""The readers: each file type gives the uint8 pixels a user expects from known arrays (DICOM
windows and MONOCHROME1, 16-bit PNG/TIFF by window or percentiles, any channel count, named
channel files), and each resize policy keeps or crops the aspect ratio as it says."""

from __future__ import annotations

import cv2
import numpy as np
import pydicom
import pytest
import tifffile
from pydicom.dataset import Dataset
from pydicom.uid import JPEG2000Lossless, RLELossless

from factories import write_dicom
from podium.config import DataConfig
from podium.data.cache import decode_image, load_images
from podium.data.readers import ImageReadError, ReadSpec, read_image
from podium.data.resize import fit_to_size

# a 12-bit ramp over a non-square image (JPEG 2000's default 6 levels need 32+ pixels a side)
RAW = (np.arange(40 * 64).reshape(40, 64) * 1.6).astype(np.uint16)  # 0 .. 4094
TOP = float(RAW.max())


def expected(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """The documented linear window: [low, high] -> [0, 255], clipped and rounded."""
    out = (values.astype(np.float64) - low) / (high - low) * 255
    return np.clip(np.floor(out + 0.5), 0, 255).astype(np.uint8)


def grey(img: np.ndarray) -> np.ndarray:
    assert img.ndim == 3 and img.shape[2] == 1 and img.dtype == np.uint8
    return img[..., 0]


# ---- DICOM --------------------------------------------------------------------------------
def test_dicom_without_a_window_spans_its_percentiles(tmp_path):
    path = write_dicom(tmp_path / "a.dcm", RAW)
    img = read_image(path, ReadSpec(channels=1, percentiles=(0, 100)))
    np.testing.assert_array_equal(grey(img), expected(RAW, RAW.min(), RAW.max()))
    rgb = read_image(path, ReadSpec(channels=3, percentiles=(0, 100)))
    assert rgb.shape == (40, 64, 3) and (rgb == img).all()  # grey repeated


def test_dicom_rescale_then_configured_window_in_modality_units(tmp_path):
    # stored values -> Hounsfield units by slope 2, intercept -1024
    path = write_dicom(tmp_path / "ct.dcm", RAW, RescaleSlope=2, RescaleIntercept=-1024)
    img = read_image(path, ReadSpec(channels=1, window=(-1000.0, 1000.0)))
    hu = RAW.astype(np.float64) * 2 - 1024
    np.testing.assert_array_equal(grey(img), expected(hu, -1000, 1000))


def test_dicom_uses_its_own_window_when_none_is_configured(tmp_path):
    path = write_dicom(tmp_path / "w.dcm", RAW, WindowCenter=2000, WindowWidth=1001)
    img = grey(read_image(path, ReadSpec(channels=1)))
    # DICOM's linear window (PS3.3 C.11.2.1.2.1): c - 0.5 -+ (w - 1) / 2 = 1499.5 .. 2499.5
    np.testing.assert_array_equal(img, expected(RAW, 1499.5, 2499.5))
    assert img[RAW <= 1499].max() == 0 and img[RAW >= 2500].min() == 255


def test_dicom_voi_lut_sequence_spans_its_output_range(tmp_path):
    item = Dataset()
    item.LUTDescriptor = [4096, 0, 12]
    item.add_new("LUTData", "US", list(range(4095, -1, -1)))  # an inverting LUT, 0 .. 4095
    path = write_dicom(tmp_path / "lut.dcm", RAW, VOILUTSequence=[item])
    img = grey(read_image(path, ReadSpec(channels=1)))
    np.testing.assert_array_equal(img, expected(4095 - RAW.astype(np.float64), 0, 4095))


def test_monochrome1_is_inverted(tmp_path):
    spec = ReadSpec(channels=1, window=(0.0, 4095.0))
    m2 = read_image(write_dicom(tmp_path / "m2.dcm", RAW), spec)
    m1 = read_image(write_dicom(tmp_path / "m1.dcm", RAW, photometric="MONOCHROME1"), spec)
    np.testing.assert_array_equal(m1, 255 - m2)
    assert grey(m1)[0, 0] == 255  # the lowest stored value is white in MONOCHROME1


@pytest.mark.parametrize("syntax", [RLELossless, JPEG2000Lossless], ids=["rle", "j2k"])
def test_compressed_dicom_decodes_like_uncompressed(tmp_path, syntax):
    spec = ReadSpec(channels=1, window=(0.0, 4095.0))
    plain = read_image(write_dicom(tmp_path / "plain.dcm", RAW), spec)
    packed = write_dicom(tmp_path / "packed.dcm", RAW, syntax=syntax)
    assert pydicom.dcmread(packed).file_meta.TransferSyntaxUID == syntax
    np.testing.assert_array_equal(read_image(packed, spec), plain)


def test_dicom_without_a_suffix_is_found_by_its_preamble(tmp_path):
    path = write_dicom(tmp_path / "a.dcm", RAW)
    bare = path.rename(tmp_path / "1.2.840.99")
    assert read_image(bare, ReadSpec(channels=1)).shape == (40, 64, 1)


# ---- 16-bit PNG and TIFF ------------------------------------------------------------------
def test_16bit_png_keeps_its_bits_through_a_window_or_percentiles(tmp_path):
    path = tmp_path / "deep.png"
    cv2.imwrite(str(path), RAW)
    assert cv2.imread(str(path), cv2.IMREAD_UNCHANGED).dtype == np.uint16
    windowed = grey(read_image(path, ReadSpec(channels=1, window=(1000.0, 3000.0))))
    np.testing.assert_array_equal(windowed, expected(RAW, 1000, 3000))
    auto = grey(read_image(path, ReadSpec(channels=1, percentiles=(1.0, 99.0))))
    low, high = np.percentile(RAW, [1, 99])
    np.testing.assert_array_equal(auto, expected(RAW, low, high))
    # 12 bits in 16: IMREAD_COLOR's /256 would leave at most 15; percentiles use the full range
    assert auto.max() == 255 and auto.min() == 0


def test_16bit_tiff_grey_and_multiband(tmp_path):
    tifffile.imwrite(tmp_path / "g.tif", RAW)
    img = grey(read_image(tmp_path / "g.tif", ReadSpec(channels=1, window=(0.0, TOP))))
    np.testing.assert_array_equal(img, expected(RAW, 0, TOP))

    bands = np.stack([RAW, RAW // 2, RAW // 4, RAW.max() - RAW], axis=-1)  # R, G, B, NIR
    tifffile.imwrite(tmp_path / "rgbn.tif", bands)  # contiguous (Y, X, S)
    tifffile.imwrite(tmp_path / "planar.tif", np.moveaxis(bands, -1, 0), planarconfig="separate")
    spec = ReadSpec(channels=4, window=(0.0, TOP))
    for name in ("rgbn.tif", "planar.tif"):
        four = read_image(tmp_path / name, spec)
        assert four.shape == (40, 64, 4)
        for c in range(4):
            np.testing.assert_array_equal(four[..., c], expected(bands[..., c], 0, TOP))
    three = read_image(tmp_path / "rgbn.tif", ReadSpec(channels=3, window=(0.0, TOP)))
    np.testing.assert_array_equal(three, read_image(tmp_path / "rgbn.tif", spec)[..., :3])


def test_percentiles_are_per_image(tmp_path):
    cv2.imwrite(str(tmp_path / "dim.png"), RAW)
    cv2.imwrite(str(tmp_path / "bright.png"), RAW * 4)  # the same picture, 4x the exposure
    spec = ReadSpec(channels=1, percentiles=(0, 100))
    dim, bright = (grey(read_image(tmp_path / n, spec)) for n in ("dim.png", "bright.png"))
    assert dim.min() == bright.min() == 0 and dim.max() == bright.max() == 255
    np.testing.assert_allclose(dim, bright, atol=1)


# ---- channels -----------------------------------------------------------------------------
@pytest.fixture
def rgba_png(tmp_path):
    rgba = np.zeros((8, 10, 4), np.uint8)
    rgba[..., 0], rgba[..., 1], rgba[..., 2], rgba[..., 3] = 200, 100, 50, 7
    path = tmp_path / "rgba.png"
    cv2.imwrite(str(path), cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA))
    return path


def test_channel_counts_are_mapped(tmp_path, rgba_png):
    rgb = read_image(rgba_png, ReadSpec(channels=3))
    assert rgb.shape == (8, 10, 3) and (rgb == [200, 100, 50]).all()  # alpha dropped, RGB order
    lum = grey(read_image(rgba_png, ReadSpec(channels=1)))
    assert (lum == round(0.299 * 200 + 0.587 * 100 + 0.114 * 50)).all()
    assert (read_image(rgba_png, ReadSpec(channels=4))[..., 3] == 7).all()  # alpha kept

    cv2.imwrite(str(tmp_path / "g.png"), np.full((8, 10), 33, np.uint8))
    assert (read_image(tmp_path / "g.png", ReadSpec(channels=3)) == 33).all()

    tifffile.imwrite(tmp_path / "two.tif", np.zeros((8, 10, 2), np.uint8), planarconfig="contig")
    with pytest.raises(
        ImageReadError, match=r"two\.tif .*has 2 channels, data.channels asks for 3"
    ):
        read_image(tmp_path / "two.tif", ReadSpec(channels=3))


def test_named_channels_stack_one_file_each(tmp_path):
    names = ["red", "green", "blue", "yellow"]
    (tmp_path / "train").mkdir()
    ids = ["a", "b"]
    for k, i in enumerate(ids):
        for c, name in enumerate(names):
            cv2.imwrite(
                str(tmp_path / "train" / f"{i}_{name}.png"), np.full((6, 9), 10 * c + k, np.uint8)
            )
    # a stain saved as a colour file (as in HPA's external data): its strongest channel counts
    red_only = np.zeros((6, 9, 3), np.uint8)
    red_only[..., 2] = 77  # BGR: red
    cv2.imwrite(str(tmp_path / "train" / "b_yellow.png"), red_only)

    spec = ReadSpec(channels=tuple(names))
    paths = [tmp_path / "train" / f"{i}_{{channel}}.png" for i in ids]
    img = read_image(paths[0], spec)
    assert img.shape == (6, 9, 4) and [int(img[0, 0, c]) for c in range(4)] == [0, 10, 20, 30]

    stack = load_images(paths, (4, 6), tmp_path / "cache", "train", progress=False, spec=spec)
    assert stack.shape == (2, 4, 6, 4)
    assert [int(stack[1, 0, 0, c]) for c in range(4)] == [1, 11, 21, 77]

    with pytest.raises(ImageReadError, match=r"has no \{channel\}"):
        read_image(tmp_path / "train" / "a_red.png", spec)


def test_config_keys_build_a_read_spec():
    data = DataConfig(channels=["r", "g"], resize="pad", window=[0, 4095], pad_value=3)
    spec = ReadSpec.from_config(data)
    assert spec == ReadSpec(("r", "g"), "pad", 3, (0.0, 4095.0), (0.5, 99.5))
    assert spec.n_channels == 2 and ReadSpec.from_config(DataConfig()) == ReadSpec()
    for bad in ({"channels": 0}, {"channels": ["r", "r"]}, {"window": [5, 1]},
                {"percentiles": [1, 101]}, {"resize": "stretch"}):  # fmt: skip
        with pytest.raises(ValueError):
            DataConfig(**bad)


# ---- resize policies ----------------------------------------------------------------------
@pytest.fixture
def wide():
    """20 x 40: a 50-valued border of 10 columns each side around a 200-valued centre."""
    img = np.full((20, 40, 1), 50, np.uint8)
    img[:, 10:30] = 200
    return img


def test_squash_stretches_the_whole_image(wide):
    out = fit_to_size(wide, (16, 16), "squash")
    assert out.shape == (16, 16, 1)
    assert out[:, 0].max() == 50 and out[:, 8].min() == 200  # both borders survive


def test_pad_letterboxes_keeping_the_aspect_ratio(wide):
    out = fit_to_size(wide, (32, 32), "pad", pad_value=9)
    assert out.shape == (32, 32, 1)
    # scale 0.8 -> 16 x 32 placed in rows 8..24, the rest is the pad value
    assert (out[:8] == 9).all() and (out[24:] == 9).all()
    assert (out[8:24, :6] == 50).all() and (out[8:24, 10:22] == 200).all()


def test_center_crop_cuts_to_the_aspect_ratio_then_resizes(wide):
    out = fit_to_size(wide, (16, 16), "center_crop")
    assert out.shape == (16, 16, 1) and (out == 200).all()  # only the centre 20 x 20 is kept
    tall = np.swapaxes(wide, 0, 1)
    assert (fit_to_size(tall, (8, 8), "center_crop") == 200).all()


def test_resize_handles_more_than_four_channels():
    img = np.arange(5, dtype=np.uint8)[None, None, :].repeat(10, 0).repeat(12, 1)
    out = fit_to_size(img, (5, 6), "squash")
    assert out.shape == (5, 6, 5) and (out == np.arange(5)).all()


def test_decode_image_applies_the_policy(tmp_path):
    path = tmp_path / "wide.png"
    cv2.imwrite(str(path), np.full((20, 40), 120, np.uint8))
    out = decode_image(path, (32, 32), ReadSpec(resize="pad"))
    assert out.shape == (32, 32, 3) and (out[0] == 0).all() and (out[16] == 120).all()


# ---- the cache ----------------------------------------------------------------------------
def test_reader_settings_name_a_new_cache(tmp_path):
    paths = []
    for i in range(2):
        paths.append(tmp_path / f"{i}.png")
        cv2.imwrite(str(paths[-1]), RAW + i)
    cache = tmp_path / "cache"
    specs = [
        ReadSpec(),
        ReadSpec(channels=1),
        ReadSpec(resize="pad"),
        ReadSpec(window=(0.0, 4095.0)),
        ReadSpec(percentiles=(1.0, 99.0)),
    ]
    files = set()
    for spec in specs:
        arr = load_images(paths, (8, 8), cache, "train", progress=False, spec=spec)
        assert arr.shape == (2, 8, 8, spec.n_channels)
        files.add(arr.filename)
    assert len(files) == len(specs) == len(list(cache.glob("train-8x8-*.npy")))
    again = load_images(paths, (8, 8), cache, "train", progress=False, spec=ReadSpec(channels=1))
    assert again.filename in files  # the same settings reuse their cache


def test_a_png_named_jpg_is_read_by_its_content(tmp_path):
    path = tmp_path / "really_a_png.jpg"
    cv2.imwrite(str(tmp_path / "x.png"), np.full((5, 7, 3), 60, np.uint8))
    (tmp_path / "x.png").rename(path)
    assert (read_image(path) == 60).all()


def test_jpeg_exif_orientation_is_applied(tmp_path):
    from PIL import Image

    img = np.zeros((20, 40, 3), np.uint8)
    img[:, :20] = 255
    pil = Image.fromarray(img)
    exif = pil.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    pil.save(tmp_path / "phone.jpg", exif=exif)
    assert read_image(tmp_path / "phone.jpg").shape == (40, 20, 3)  # as a viewer shows it
