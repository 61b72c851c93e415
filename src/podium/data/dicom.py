"""DICOM through pydicom: the modality LUT (rescale slope / intercept), then a window, then
MONOCHROME1's inversion, to uint8 (H, W, C). Compressed transfer syntaxes decode through
pylibjpeg's plugins.

The order is DICOM's grayscale pipeline (PS3.4 N.2): modality LUT -> VOI LUT (the window) ->
presentation LUT, which for MONOCHROME1 is the inversion. A MONOCHROME1 file's window is
therefore in its own stored (modality) units, and inverting first would put the window on the
wrong side of the histogram: a MONOCHROME1 file and its MONOCHROME2 twin (values and window
mirrored) come out the same.

Which window (`data.windows`, else `data.dicom_window`, then `data.window`):
    windows          several [center, width] windows, one channel each (podium.config.windows);
                     a colour DICOM is refused
    [low, high]      this window, in modality units (HU for CT)
    file (default)   `data.window` if set, else the file's VOI LUT or WindowCenter/Width, else
                     per-image percentiles
    none             `data.window` if set, else per-image percentiles: the file's window is
                     ignored (one that does not fit its data saturates most of the image)
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np

from podium.data.read_spec import ImageReadError, ReadSpec, read_bytes
from podium.data.windowing import _percentile_range, _scale, stack_windows, window_to_uint8


def read_dicom(path: Path, spec: ReadSpec) -> np.ndarray:
    """DICOM through pydicom: modality LUT (rescale slope/intercept), then the window of the
    module docstring, then MONOCHROME1's inversion.
    Compressed transfer syntaxes decode through pylibjpeg's plugins (or pydicom's own RLE)."""
    import pydicom  # local for import cost: only DICOM files need it
    from pydicom.pixels import apply_modality_lut, apply_voi_lut

    data = read_bytes(path)
    try:
        ds = pydicom.dcmread(io.BytesIO(data), force=True)
        if "PixelData" not in ds:
            # pydicom drops an encapsulated Pixel Data element cut short, with only a warning
            cut = b"\xe0\x7f\x10\x00" in data or b"\x7f\xe0\x00\x10" in data
            raise ImageReadError(
                path, "truncated: pixel data cut short" if cut else "no pixel data"
            )
        if int(ds.get("NumberOfFrames", 1) or 1) > 1:
            raise ImageReadError(path, f"a multi-frame DICOM ({ds.NumberOfFrames} frames)")
        arr = ds.pixel_array
    except ImageReadError:
        raise
    except Exception as e:  # pydicom: ValueError (short data), a missing decoder plugin, ...
        msg = " ".join(line.strip() for line in str(e).splitlines()) or type(e).__name__
        raise ImageReadError(path, f"DICOM: {msg}") from None
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2"))
    if not photometric.startswith("MONOCHROME"):  # colour: pydicom already gives RGB
        if spec.windows is not None:
            raise ImageReadError(path, f"data.windows: a {photometric} DICOM is colour, not grey")
        return window_to_uint8(arr if arr.ndim == 3 else arr[..., None], spec)
    values = apply_modality_lut(arr, ds)
    if spec.windows is not None:  # one channel per window, each inverted like the one
        stacked = stack_windows(values, spec.windows)
        return 255 - stacked if photometric == "MONOCHROME1" else stacked
    if isinstance(spec.dicom_window, tuple):
        out = _scale(values, *spec.dicom_window)
    elif spec.window is not None:
        out = _scale(values, *spec.window)
    elif spec.dicom_window == "file" and _has_voi(ds):
        out = _scale(apply_voi_lut(values, ds), *_voi_range(ds, values))
    else:
        out = _scale(values, *_percentile_range(values, spec.percentiles))
    if photometric == "MONOCHROME1":  # the presentation step, after the window: high is dark
        out = 255 - out
    return out[..., None]


def _has_voi(ds: Any) -> bool:
    seq = ds.get("VOILUTSequence")
    lut = bool(seq) and None not in (seq[0].get("LUTDescriptor"), seq[0].get("LUTData"))
    return lut or None not in (ds.get("WindowCenter"), ds.get("WindowWidth"))


def _voi_range(ds: Any, values: np.ndarray) -> tuple[float, float]:
    """The output range of the VOI step, found by applying it to probe inputs (its LUT's
    whole domain, or the two extremes for a window), so pydicom stays the one definition."""
    from pydicom.pixels import apply_voi_lut

    seq = ds.get("VOILUTSequence")
    if seq and seq[0].get("LUTDescriptor") is not None:
        n, first = seq[0].LUTDescriptor[0] or 2**16, seq[0].LUTDescriptor[1]
        probe: np.ndarray = np.arange(first, first + n, dtype=np.int64)
    else:
        probe = np.array([-1e30, 1e30])
    out = apply_voi_lut(probe, ds)
    return float(out.min()), float(out.max())
