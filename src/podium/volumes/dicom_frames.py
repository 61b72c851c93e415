"""A multi-frame DICOM (one file, NumberOfFrames > 1: enhanced CT/MR, ultrasound volumes) as
a volume: its frames' modality values in order along the normal, with the voxel spacing.

Where an enhanced file keeps what a single-frame slice has at its top level (PS3.3 C.7.6.16,
functional groups), each is read from the frame's own group first
(PerFrameFunctionalGroupsSequence), then the shared one (SharedFunctionalGroupsSequence),
then the top level:
- position: PlanePositionSequence's ImagePositionPatient; orientation:
  PlaneOrientationSequence's ImageOrientationPatient. With both for every frame, frames are
  ordered as a series' slices are (`podium.series.order`: along the normal, its warnings
  logged naming the file); without, they keep the file's order;
- rescale (slope, intercept): PixelValueTransformationSequence, per frame;
- pixel spacing: PixelMeasuresSequence's PixelSpacing (row, column = y, x); the slice spacing
  is the median step between ordered positions, else SpacingBetweenSlices, else
  SliceThickness; none of them: unknown (the config's `data.spacing` is assumed).
"""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Any

import numpy as np

from podium.series.order import SeriesOrderError, SliceHeader, order_slices
from podium.volumes.record import Volume, VolumeReadError

_log = logging.getLogger(__name__)


def read_dicom_frames(path: Path, data: bytes) -> Volume:
    """One multi-frame DICOM file's bytes as a Volume (see the module docstring)."""
    import pydicom  # local for import cost: only DICOM volumes need it

    try:
        ds = pydicom.dcmread(io.BytesIO(data), force=True)
        frames = int(ds.get("NumberOfFrames", 1) or 1)
        if frames < 2:
            raise VolumeReadError(
                path,
                "a single-frame DICOM: a volume needs NumberOfFrames > 1 (a folder of "
                "slices is a series: data.slices)",
            )
        arr = np.asarray(ds.pixel_array, np.float32)
    except VolumeReadError:
        raise
    except Exception as e:  # pydicom: not DICOM, no pixel data, a missing decoder plugin, ...
        msg = " ".join(str(e).split()) or type(e).__name__
        raise VolumeReadError(path, f"DICOM: {msg}") from None
    if arr.ndim != 3:
        raise VolumeReadError(path, f"frames must be grey (frames, H, W), got {arr.shape}")
    values = np.stack([_rescale(ds, i, arr[i]) for i in range(frames)])
    headers = [_frame_header(ds, i) for i in range(frames)]
    places: tuple[float, ...] | None = None
    if all(h.position is not None and h.orientation is not None for h in headers):
        try:
            order = order_slices(headers)
        except SeriesOrderError as e:
            raise VolumeReadError(path, f"frames: {e}") from None
        for note in order.warnings:
            _log.warning("volume %s: %s", path, note)
        values, places = values[list(order.order)], order.places
    return Volume(np.ascontiguousarray(values), _spacing(ds, places), ds)


def _item(ds: Any, i: int, sequence: str) -> Any:
    """The functional-group item `sequence` of frame i: its own, else the shared one."""
    for groups, index in (
        ("PerFrameFunctionalGroupsSequence", i),
        ("SharedFunctionalGroupsSequence", 0),
    ):
        seq = ds.get(groups)
        if seq and len(seq) > index and seq[index].get(sequence):
            return seq[index].get(sequence)[0]
    return None


def _tag(ds: Any, i: int, sequence: str, key: str) -> Any:
    item = _item(ds, i, sequence)
    value = item.get(key) if item is not None else None
    return value if value is not None else ds.get(key)


def _floats(value: Any, n: int) -> tuple[float, ...] | None:
    if value is None or len(value) != n:
        return None
    return tuple(float(v) for v in value)


def _frame_header(ds: Any, i: int) -> SliceHeader:
    position = _floats(_tag(ds, i, "PlanePositionSequence", "ImagePositionPatient"), 3)
    orientation = _floats(_tag(ds, i, "PlaneOrientationSequence", "ImageOrientationPatient"), 6)
    return SliceHeader(
        name=f"frame {i + 1}",
        position=None if position is None else (position[0], position[1], position[2]),
        orientation=orientation,
        instance=i + 1,
    )


def _rescale(ds: Any, i: int, frame: np.ndarray) -> np.ndarray:
    slope = _tag(ds, i, "PixelValueTransformationSequence", "RescaleSlope")
    intercept = _tag(ds, i, "PixelValueTransformationSequence", "RescaleIntercept")
    scale = np.float32(1.0 if slope is None else float(slope))
    shift = np.float32(0.0 if intercept is None else float(intercept))
    out: np.ndarray = frame * scale + shift
    return out


def _spacing(ds: Any, places: tuple[float, ...] | None) -> tuple[float, float, float] | None:
    pixel = _floats(_tag(ds, 0, "PixelMeasuresSequence", "PixelSpacing"), 2)
    step: float | None = None
    if places is not None and len(places) > 1:
        step = float(np.median(np.abs(np.diff(places))))
    for key in ("SpacingBetweenSlices", "SliceThickness"):
        value = _tag(ds, 0, "PixelMeasuresSequence", key)
        if (step is None or step <= 0) and value is not None:
            step = float(value)
    if pixel is None or step is None or step <= 0 or min(pixel) <= 0:
        return None
    return (step, pixel[0], pixel[1])
