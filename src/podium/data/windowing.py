"""More than 8 bits to uint8: a configured window (low, high), several of them stacked as
channels (`data.windows`), or per-image percentiles."""

from __future__ import annotations

import numpy as np

from podium.data.read_spec import ReadSpec


def _scale(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """Linear map of [low, high] to [0, 255], clipped; a flat range gives zeros."""
    if high <= low:
        return np.zeros(values.shape, np.uint8)
    out = (values.astype(np.float32) - np.float32(low)) * np.float32(255.0 / (high - low))
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def _percentile_range(values: np.ndarray, q: tuple[float, float]) -> tuple[float, float]:
    low, high = np.percentile(values, q)
    return float(low), float(high)


def window_to_uint8(arr: np.ndarray, spec: ReadSpec) -> np.ndarray:
    """uint8 passes through; bool becomes 0/255; wider types go through `spec.window`, else
    the image's own percentiles (over all its channels, so colour balance is kept)."""
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == np.bool_:
        return arr.astype(np.uint8) * 255
    low, high = spec.window or _percentile_range(arr, spec.percentiles)
    return _scale(arr, low, high)


def stack_windows(values: np.ndarray, windows: tuple[tuple[float, float], ...]) -> np.ndarray:
    """`values` (...) through each (low, high) window -> (..., len(windows)) uint8, the
    windows in the order given (`data.windows`, podium.config.windows)."""
    return np.stack([_scale(values, low, high) for low, high in windows], axis=-1)
