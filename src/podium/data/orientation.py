"""The EXIF orientation of JPEG and PNG files, applied the same way to both: an image is read
as a viewer shows it (a phone photo stored sideways with `Orientation = 6` comes out upright),
whatever its format, so that a photo and its PNG copy decode alike and train and test agree.

Only the EXIF block is located here (a JPEG's APP1 segment before its first scan, a PNG's
`eXIf` chunk); Pillow's `Image.Exif` parses it, so no TIFF parsing is copied. Neither walk
decodes pixels: the cost is a few header reads per file. TIFF, WebP and BMP orientation tags
are not applied (rare in competition data; the README says so).
"""

from __future__ import annotations

import struct

import numpy as np

ORIENTATION_TAG = 0x0112
JPEG_SOS = 0xDA


def _jpeg_exif(data: bytes) -> bytes | None:
    """The payload of the first `Exif` APP1 segment before the scan, if any."""
    i = 2  # after SOI
    while i + 4 <= len(data) and data[i] == 0xFF:
        marker = data[i + 1]
        if marker == JPEG_SOS:
            return None
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        if marker == 0xE1 and data[i + 4 : i + 10] == b"Exif\x00\x00":
            return data[i + 10 : i + 2 + length]
        i += 2 + length
    return None


def _png_exif(data: bytes) -> bytes | None:
    """The payload of the `eXIf` chunk (before or after IDAT), if any."""
    i = 8  # after the signature
    while i + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[i : i + 8])
        if kind == b"eXIf":
            return data[i + 8 : i + 8 + length]
        if kind == b"IEND":
            return None
        i += 12 + length  # length, type, data, CRC
    return None


def exif_orientation(data: bytes, fmt: str) -> int:
    """The EXIF orientation (1..8) of a JPEG or PNG file's bytes; 1 (as stored) when it has
    none or it cannot be read (a broken EXIF block does not make the pixels wrong)."""
    from PIL import Image  # local for import cost

    block = _jpeg_exif(data) if fmt == "jpeg" else _png_exif(data) if fmt == "png" else None
    if not block:
        return 1
    try:
        exif = Image.Exif()
        exif.load(block)
        value = int(exif.get(ORIENTATION_TAG, 1))
    except Exception:  # Pillow raises struct.error, SyntaxError, ... on a malformed block
        return 1
    return value if 1 <= value <= 8 else 1


def apply_orientation(img: np.ndarray, orientation: int) -> np.ndarray:
    """(H, W, C) as a viewer shows an image with this EXIF orientation (the transforms of
    Pillow's `ImageOps.exif_transpose`)."""
    if orientation == 2:
        out = img[:, ::-1]
    elif orientation == 3:
        out = img[::-1, ::-1]
    elif orientation == 4:
        out = img[::-1]
    elif orientation == 5:
        out = img.transpose(1, 0, 2)
    elif orientation == 6:
        out = np.rot90(img, k=-1)
    elif orientation == 7:
        out = img[::-1, ::-1].transpose(1, 0, 2)
    elif orientation == 8:
        out = np.rot90(img, k=1)
    else:
        return img
    return np.ascontiguousarray(out)


__all__ = ["apply_orientation", "exif_orientation"]
