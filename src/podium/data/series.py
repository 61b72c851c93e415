"""A study's series as one image whose channels are its slices: a folder of DICOM slices (or a
`.npy` volume, (S, H, W)) read, ordered, windowed once for the whole series and resampled to
`data.slices.depth` slices, as (H, W, depth) uint8, the decode cache's shape. With
`data.windows`, each slice goes through every window: (H, W, depth * len(windows)), slice s's
window w at channel s * len(windows) + w. With `data.slices.spacing`, the ordered slices are
first resampled to that spacing along the normal (their positions are needed: a `.npy`, or a
series without ImagePositionPatient, is refused).

Why one window for the series: per-slice percentiles (the 2-D DICOM rule) would stretch an
empty slice's noise to full range and change contrast from slice to slice. The window is, in
order: `data.dicom_window` as [low, high]; `data.window`; the file's VOI window (the middle
slice's, applied to every slice) with `dicom_window: file`; else percentiles over the whole
series; `data.windows` replaces them all (each slice through each window). MONOCHROME1 is
inverted after the window, as for 2-D DICOM (podium.data.dicom).

The order is `podium.series.order`'s (position along the normal; InstanceNumber as the
fallback); its warnings are logged naming the series folder, its refusals (mixed
orientations), slices of different sizes, and unreadable files are an ImageReadError
naming the folder (or the file), so the decode cache lists them with the other bad images.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Any

import numpy as np

from podium.data.dicom import _has_voi, _voi_range
from podium.data.read_spec import ImageReadError, ReadSpec, read_bytes
from podium.data.windowing import _percentile_range, _scale, stack_windows
from podium.series.files import series_files
from podium.series.order import SeriesOrderError, SliceHeader, order_slices
from podium.series.resample import resample_depth, resample_spacing

_log = logging.getLogger(__name__)


def read_series(path: Path, spec: ReadSpec) -> np.ndarray:
    """A series folder or a `.npy` volume as (H, W, spec.depth) uint8; see the module
    docstring. `spec.depth` must be set (`data.slices`)."""
    assert spec.depth is not None  # read_image sends only series specs here
    places: tuple[float, ...] | None = None
    if path.is_dir():
        values, ref, places = _read_folder(path)
    elif path.suffix.lower() == ".npy":
        values, ref = _read_npy(path), None
    else:
        raise ImageReadError(path, "data.slices reads series: a folder of DICOM slices or a .npy")
    if spec.slice_spacing is not None:
        if places is None:
            raise ImageReadError(
                path,
                "data.slices.spacing needs the slices' positions (ImagePositionPatient and "
                "ImageOrientationPatient in every DICOM slice)",
            )
        values = resample_spacing(values, np.asarray(places), spec.slice_spacing)
    if spec.windows is not None:  # (S, H, W, windows)
        scaled = stack_windows(values, spec.windows)
    else:
        scaled = _window(values, spec, ref)[..., None]
    if ref is not None and str(ref.get("PhotometricInterpretation", "")) == "MONOCHROME1":
        scaled = 255 - scaled
    s, h, w, c = scaled.shape
    # slices first, each slice's channels next to its pixels: one depth resampling for all
    flat = np.ascontiguousarray(scaled.transpose(0, 3, 1, 2), np.float32).reshape(s, c * h, w)
    out = resample_depth(flat, spec.depth).reshape(spec.depth, c, h, w)
    out = out.transpose(2, 3, 0, 1).reshape(h, w, spec.depth * c)
    image: np.ndarray = np.clip(out + 0.5, 0, 255).astype(np.uint8)
    return image


def _read_npy(path: Path) -> np.ndarray:
    try:
        arr: np.ndarray = np.load(io.BytesIO(read_bytes(path)), allow_pickle=False)
    except ValueError as e:
        raise ImageReadError(path, f"not a numeric .npy volume ({e})") from None
    if arr.ndim != 3 or arr.dtype.kind not in "biuf":
        raise ImageReadError(path, f"a .npy volume must be numeric (S, H, W), got {arr.shape}")
    return arr


def _read_folder(folder: Path) -> tuple[np.ndarray, Any, tuple[float, ...] | None]:
    """The slices' modality values (S, H, W) in order, the middle slice's dataset, and the
    slices' places along the normal (mm; None without positions)."""
    import pydicom  # local for import cost: only DICOM series need it
    from pydicom.pixels import apply_modality_lut

    files = series_files(folder)
    if not files:
        raise ImageReadError(folder, "an empty series folder")
    datasets, planes = [], []
    for f in files:
        try:
            ds = pydicom.dcmread(io.BytesIO(read_bytes(f)), force=True)
            planes.append(np.asarray(apply_modality_lut(ds.pixel_array, ds), np.float32))
        except ImageReadError:
            raise
        except Exception as e:  # pydicom: not DICOM, no pixel data, a missing decoder, ...
            msg = " ".join(str(e).split()) or type(e).__name__
            raise ImageReadError(f, f"DICOM slice of series {folder}: {msg}") from None
        if planes[-1].shape != planes[0].shape:
            raise ImageReadError(
                folder,
                f"slices of different sizes: {files[0].name} is {planes[0].shape}, "
                f"{f.name} is {planes[-1].shape}",
            )
        datasets.append(ds)
    try:
        order = order_slices([_header(f.name, ds) for f, ds in zip(files, datasets, strict=True)])
    except SeriesOrderError as e:
        raise ImageReadError(folder, f"series: {e}") from None
    for note in order.warnings:
        _log.warning("series %s: %s", folder, note)
    values = np.stack([planes[i] for i in order.order])
    return values, datasets[order.order[len(order.order) // 2]], order.places


def _header(name: str, ds: Any) -> SliceHeader:
    def floats(key: str, n: int) -> tuple[float, ...] | None:
        v = ds.get(key)
        if v is None or len(v) != n:
            return None
        return tuple(float(x) for x in v)

    position = floats("ImagePositionPatient", 3)
    instance = ds.get("InstanceNumber")
    return SliceHeader(
        name=name,
        position=position if position is None else (position[0], position[1], position[2]),
        orientation=floats("ImageOrientationPatient", 6),
        instance=int(instance) if instance not in (None, "") else None,
    )


def _window(values: np.ndarray, spec: ReadSpec, ref: Any) -> np.ndarray:
    """One window for the whole series (the module docstring's order), as uint8."""
    if isinstance(spec.dicom_window, tuple):
        return _scale(values, *spec.dicom_window)
    if spec.window is not None:
        return _scale(values, *spec.window)
    if ref is not None and spec.dicom_window == "file" and _has_voi(ref):
        from pydicom.pixels import apply_voi_lut

        return _scale(apply_voi_lut(values, ref), *_voi_range(ref, values))
    if values.dtype == np.uint8 and ref is None:
        return values
    return _scale(values, *_percentile_range(values, spec.percentiles))
