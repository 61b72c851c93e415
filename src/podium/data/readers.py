"""Image readers chosen by file type, behind one call: `read_image(path, spec)` returns the
image as (H, W, C) uint8 at its own size, with C = `spec.n_channels`.

Why one seam: competitions bring PNG/JPEG photos, 16-bit PNGs and multi-band TIFFs, DICOM
X-rays and microscopy split over one file per channel. Each format has its own traps (a
truncated JPEG decodes silently with a grey lower half; cv2's IMREAD_COLOR scales 16 bits down
by 256; DICOM needs its rescale, its VOI window and MONOCHROME1 inversion) and the decode
cache should not know any of them.

The steps, in order:
1. the format is found from the file's first bytes (a `.jpg` that is really a PNG is common),
   then from its suffix; `READERS` maps a format to its reader, `register_reader` adds one;
2. the reader returns the pixels in their own dtype as (H, W, C), RGB order, and raises
   `ImageReadError` (a DataError naming the file and the reason) on a truncated or unreadable
   file; DICOM is brought to uint8 inside its reader (modality LUT, then window or VOI LUT;
   with `spec.windows`, one channel per window; any other format is then refused);
3. more than 8 bits go to uint8 through `spec.window` (low, high) when given, else through
   per-image percentiles `spec.percentiles`;
4. the channels are mapped to `spec.n_channels` (`to_channels`): grey is repeated; RGB or
   RGBA to 1 channel takes the luminance; more channels than asked keep the first ones
   (RGBA -> RGB drops alpha, a 4-band RGBN TIFF keeps RGB); fewer channels than asked (other
   than grey) is an error, since no choice there would be right.

Orientation: a JPEG's or a PNG's EXIF orientation is applied, alike (`podium.data.orientation`):
images come out as a viewer shows them, as the labellers saw them. TIFF, WebP and BMP
orientation tags are not applied.

Decoder warnings are errors: a JPEG cut short and given an end marker decodes with libjpeg's
warning only (OpenCV and Pillow return a grey lower half), so JPEG goes through simplejpeg's
strict mode.

Series (`spec.depth`, from `data.slices`): the path is a folder of DICOM slices (or a `.npy`
volume), read by `podium.data.series` as (H, W, depth), one channel per slice (per slice and
window with `spec.windows`).
Volumes (`spec.volume`, from `data.volume_size`): the path is one NIfTI, `.npy` or
multi-frame DICOM file, read by `podium.data.volumes` as (H, W, D) likewise.

Named channels (`spec.channels = ("red", "green", "blue", "yellow")`): the path holds a
literal `{channel}` that each name replaces (HPA: `train/{id}_{channel}.png`); each file is
read as one channel (its maximum over colour channels, so a stain saved as a red-only RGB file
keeps its full intensity) and the files are stacked in the order named.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import numpy as np

from podium.data.dicom import read_dicom
from podium.data.orientation import apply_orientation, exif_orientation
from podium.data.read_spec import CHANNEL, ImageReadError, ReadSpec, read_bytes
from podium.data.series import read_series
from podium.data.volumes import read_volume_image
from podium.data.windowing import window_to_uint8

# ---- formats ------------------------------------------------------------------------------
Reader = Callable[[Path, ReadSpec], np.ndarray]
READERS: dict[str, Reader] = {}
SUFFIXES: dict[str, str] = {}
MAGIC: list[tuple[int, bytes, str]] = []  # (offset, bytes, format), checked in order


def register_reader(
    fmt: str, reader: Reader, suffixes: Sequence[str] = (), magic: Sequence[tuple[int, bytes]] = ()
) -> None:
    """Add (or replace) the reader of one format, found by its suffixes and magic bytes."""
    READERS[fmt] = reader
    SUFFIXES.update({s.lower(): fmt for s in suffixes})
    MAGIC.extend((offset, m, fmt) for offset, m in magic)


def detect_format(path: Path, head: bytes) -> str:
    """The format from the file's first bytes, else from its suffix, else 'cv2' (OpenCV's
    own sniffing)."""
    for offset, magic, fmt in MAGIC:
        if head[offset : offset + len(magic)] == magic:
            return fmt
    return SUFFIXES.get(path.suffix.lower(), "cv2")


def _cv2_decode(path: Path, data: bytes, flags: int) -> np.ndarray:
    img = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    if img is None:
        raise ImageReadError(path, "corrupt or not an image")
    if img.ndim == 2:
        return img[..., None]
    if img.shape[2] == 3:
        return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    if img.shape[2] == 4:
        return cv2.cvtColor(img, cv2.COLOR_BGRA2RGBA)
    return img


def read_jpeg(path: Path, spec: ReadSpec) -> np.ndarray:
    """JPEG through libjpeg-turbo (simplejpeg) in strict mode: a warning of the decoder
    ('premature end of data segment': a file cut short, with an end marker appended) is an
    error, where OpenCV and Pillow print it and return a grey lower half. The EXIF orientation
    is applied, as for PNG."""
    import simplejpeg  # local for import cost: only JPEG files need it

    data = read_bytes(path)
    # entropy-coded data cannot hold FF D9 (FF is stuffed): a complete file has an end-of-image
    # marker after its last start-of-scan; bytes after it (phone trailers) are allowed
    sos = data.rfind(b"\xff\xda")
    if sos < 0 or data.find(b"\xff\xd9", sos) < 0:
        raise ImageReadError(path, "truncated: no JPEG end marker")
    try:
        colorspace = simplejpeg.decode_jpeg_header(data)[2]
        if colorspace in ("CMYK", "YCCK"):  # libjpeg has no CMYK -> RGB: checked here, OpenCV's
            simplejpeg.decode_jpeg(data, colorspace="CMYK", strict=True)
            img = _cv2_decode(path, data, cv2.IMREAD_ANYCOLOR | cv2.IMREAD_IGNORE_ORIENTATION)
        else:
            grey = colorspace == "Gray"
            img = simplejpeg.decode_jpeg(data, colorspace="GRAY" if grey else "RGB", strict=True)
    except ValueError as e:  # simplejpeg: corrupt data, a decoder warning, not a JPEG
        raise ImageReadError(path, f"corrupt JPEG: {str(e).strip() or 'undecodable'}") from None
    return apply_orientation(img, exif_orientation(data, "jpeg"))


def read_png(path: Path, spec: ReadSpec) -> np.ndarray:
    data = read_bytes(path)
    if data.rfind(b"IEND") < data.rfind(b"IDAT"):
        raise ImageReadError(path, "truncated: no PNG IEND chunk")
    # UNCHANGED keeps 16 bits and alpha (IMREAD_COLOR would divide 16-bit values by 256) and
    # ignores the EXIF orientation, applied here as for JPEG
    img = _cv2_decode(path, data, cv2.IMREAD_UNCHANGED)
    return apply_orientation(img, exif_orientation(data, "png"))


def read_webp(path: Path, spec: ReadSpec) -> np.ndarray:
    data = read_bytes(path)
    if len(data) >= 8 and len(data) < int.from_bytes(data[4:8], "little") + 8:
        raise ImageReadError(path, "truncated: shorter than its RIFF header says")
    return _cv2_decode(path, data, cv2.IMREAD_UNCHANGED)


def read_bmp(path: Path, spec: ReadSpec) -> np.ndarray:
    data = read_bytes(path)
    if len(data) >= 6 and len(data) < int.from_bytes(data[2:6], "little"):
        raise ImageReadError(path, "truncated: shorter than its BMP header says")
    return _cv2_decode(path, data, cv2.IMREAD_UNCHANGED)


def read_cv2(path: Path, spec: ReadSpec) -> np.ndarray:
    return _cv2_decode(path, read_bytes(path), cv2.IMREAD_UNCHANGED)


def read_tiff(path: Path, spec: ReadSpec) -> np.ndarray:
    """16-bit and multi-band TIFF through tifffile; the band axis goes last."""
    import tifffile  # local for import cost: only TIFF files need it

    data = read_bytes(path)
    try:
        with tifffile.TiffFile(io.BytesIO(data)) as tif:
            series = tif.series[0]
            arr, axes = series.asarray(), series.axes
    except Exception as e:  # tifffile raises ValueError, TiffFileError, struct.error, ...
        raise ImageReadError(path, f"corrupt or truncated TIFF: {e}") from None
    keep = [i for i, a in enumerate(axes) if a in "YX" or arr.shape[i] > 1]
    arr = arr.reshape([arr.shape[i] for i in keep])  # drop singleton time/page axes
    axes = "".join(axes[i] for i in keep)
    if arr.ndim == 2:
        return arr[..., None]
    if arr.ndim == 3 and "Y" in axes and "X" in axes:
        band = next(i for i, a in enumerate(axes) if a not in "YX")  # S, C, or pages (I, Q)
        return np.moveaxis(arr, band, -1)
    raise ImageReadError(path, f"a TIFF of shape {arr.shape} (axes {axes}) is not one 2-D image")


# ---- channels -----------------------------------------------------------------------------
def to_channels(img: np.ndarray, n: int, path: Path | str = "") -> np.ndarray:
    """(H, W, C) uint8 -> (H, W, n): grey repeats, RGB(A) -> 1 is luminance, extra channels
    are dropped from the end; fewer (but more than one) channels than `n` is an error."""
    c = img.shape[2]
    if c == n:
        return img
    if c == 1:
        return np.repeat(img, n, axis=2)
    if n == 1 and c in (3, 4):
        return cv2.cvtColor(np.ascontiguousarray(img[..., :3]), cv2.COLOR_RGB2GRAY)[..., None]
    if c > n:
        return np.ascontiguousarray(img[..., :n])
    raise ImageReadError(path, f"has {c} channels, data.channels asks for {n}")


def channel_paths(path: Path | str, names: Sequence[str]) -> list[Path]:
    """The files of one image whose channels are stored apart (`{channel}` in the path)."""
    text = str(path)
    if CHANNEL not in text:
        raise ImageReadError(path, f"data.channels names channels but the path has no {CHANNEL}")
    return [Path(text.replace(CHANNEL, name)) for name in names]


def _read_one(path: Path, spec: ReadSpec) -> np.ndarray:
    fmt = detect_format(path, _read_head(path))
    if spec.windows is not None and fmt != "dicom":
        raise ImageReadError(path, f"data.windows windows DICOM images only; this is {fmt}")
    return window_to_uint8(READERS[fmt](path, spec), spec)


def _read_head(path: Path) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(132)
    except FileNotFoundError:
        raise ImageReadError(path, "file not found") from None
    except OSError as e:
        raise ImageReadError(path, f"unreadable: {e.strerror or e}") from None


def read_image(path: Path | str, spec: ReadSpec | None = None) -> np.ndarray:
    """One image as (H, W, spec.n_channels) uint8 at its own size; see the module docstring."""
    spec = spec or ReadSpec()
    path = Path(path)
    if spec.depth is not None:  # a series: its slices are the channels
        return read_series(path, spec)
    if spec.volume is not None:  # a volume: its slices are the channels
        return read_volume_image(path, spec)
    if path.is_dir():
        raise ImageReadError(path, "a folder, not an image (a series? set data.slices)")
    names = spec.channel_names
    if names is None:
        return to_channels(_read_one(path, spec), spec.n_channels, path)
    planes = []
    for file in channel_paths(path, names):
        img = _read_one(file, spec)
        planes.append(img if img.shape[2] == 1 else img.max(axis=2, keepdims=True))
        if planes[-1].shape[:2] != planes[0].shape[:2]:
            raise ImageReadError(
                file,
                f"size {img.shape[1]}x{img.shape[0]} differs from its other channels' "
                f"{planes[0].shape[1]}x{planes[0].shape[0]}",
            )
    return np.concatenate(planes, axis=2)


register_reader("jpeg", read_jpeg, (".jpg", ".jpeg", ".jpe", ".jfif"), [(0, b"\xff\xd8\xff")])
register_reader("png", read_png, (".png",), [(0, b"\x89PNG\r\n\x1a\n")])
register_reader("webp", read_webp, (".webp",), [(8, b"WEBP")])
register_reader("bmp", read_bmp, (".bmp", ".dib"), [(0, b"BM")])
register_reader(
    "tiff",
    read_tiff,
    (".tif", ".tiff"),
    [(0, b"II*\x00"), (0, b"MM\x00*"), (0, b"II+\x00"), (0, b"MM\x00+")],
)
register_reader("dicom", read_dicom, (".dcm", ".dicom"), [(128, b"DICM")])
register_reader("cv2", read_cv2)
