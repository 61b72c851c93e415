"""The typed ground truth of segmentation: `Masks` (ids, classes, an (N, C, H, W) bool array)
and `MaskSource`, what reads one image's (C, H, W) masks on demand (`mask_files.MaskFiles`,
`mask_table.MaskTable`), so that a dataset decodes one image at a time and a metric or a
notebook stacks them.

Conventions: C = len(classes) foreground classes, in the order the caller named them (a
binary task has one); a pixel may be in several classes or none (background is no class).
Image sizes are (height, width); `Shapes` is one size for every image or a size per id.

A table of images of several sizes has *ragged* masks (`ragged`): an (N,) object array whose
item i is image i's (C, H_i, W_i) bool masks; `at_size` brings dense or ragged masks to one
size (nearest), `areas` counts each image's mask pixels, so callers need not tell them apart.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

from podium.errors import ConfigError, DataError

Shape = tuple[int, int]
Shapes = Shape | Mapping[str, Shape]


@dataclass(frozen=True)
class Masks:
    """Masks of N images of one size: `masks[i, c]` is image `ids[i]`'s class `classes[c]`."""

    ids: tuple[str, ...]
    classes: tuple[str, ...]
    masks: np.ndarray  # (N, C, H, W) bool

    def __post_init__(self) -> None:
        n, c = len(self.ids), len(self.classes)
        if self.masks.ndim != 4 or self.masks.shape[:2] != (n, c):
            raise ValueError(f"masks of {n} ids and {c} classes, got shape {self.masks.shape}")
        if self.masks.dtype != np.bool_:
            raise ValueError(f"masks are bool, got {self.masks.dtype}")


class MaskSource(Protocol):
    """Reads the ground-truth masks of one image."""

    @property
    def classes(self) -> tuple[str, ...]: ...

    def mask(self, image_id: str) -> np.ndarray:
        """Image `image_id`'s (C, H, W) bool masks."""
        ...


def checked_classes(classes: Sequence[object], where: str) -> tuple[str, ...]:
    """The class names as strings: at least one, none repeated (a ConfigError naming where)."""
    names = tuple(str(c) for c in classes)
    if not names:
        raise ConfigError(f"{where}: no classes; name at least one")
    if len(set(names)) < len(names):
        dup = next(c for c in names if names.count(c) > 1)
        raise ConfigError(f"{where}: class {dup!r} is named twice")
    return names


def shape_of(shapes: Shapes, image_id: str, where: str) -> Shape:
    """The (height, width) of one image from `shapes`; a DataError naming where if unknown."""
    if isinstance(shapes, Mapping):
        try:
            shape = shapes[image_id]
        except KeyError:
            raise DataError(f"{where}: no image size known for image {image_id!r}") from None
    else:
        shape = shapes
    return int(shape[0]), int(shape[1])


def stack(source: MaskSource, ids: Sequence[str]) -> Masks:
    """Every image's masks in one (N, C, H, W) array; the images must share one size."""
    ids = tuple(ids)
    arrays = [source.mask(i) for i in ids]
    if not arrays:
        return Masks((), source.classes, np.zeros((0, len(source.classes), 0, 0), bool))
    first = arrays[0].shape
    for image_id, a in zip(ids, arrays, strict=True):
        if a.shape != first:
            raise DataError(
                f"masks of one array need one size: image {ids[0]!r} is "
                f"{first[1]}x{first[2]}, image {image_id!r} is {a.shape[1]}x{a.shape[2]} "
                "(height x width)"
            )
    return Masks(ids, source.classes, np.stack(arrays))


def ragged(source: MaskSource, ids: Sequence[str]) -> np.ndarray:
    """Every image's (C, H_i, W_i) masks at its own size, an (N,) object array (the table's
    images have several sizes)."""
    out = np.empty(len(ids), dtype=object)
    for i, image_id in enumerate(ids):
        out[i] = np.asarray(source.mask(image_id), bool)
    return out


def is_ragged(y: np.ndarray) -> bool:
    """Whether `y` is `ragged`'s (N,) object array rather than a dense (N, C, H, W) one."""
    return np.asarray(y).dtype == object


def join_classes(planes: Sequence[np.ndarray]) -> np.ndarray:
    """Masks of one class each (dense (N, 1, H, W) or ragged) joined along the class axis."""
    if not any(is_ragged(p) for p in planes):
        return np.concatenate(planes, axis=1)
    out = np.empty(len(planes[0]), dtype=object)
    for i in range(len(out)):
        out[i] = np.concatenate([p[i] for p in planes])
    return out


def at_size(y: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Dense (N, C, H, W) or ragged masks resized (nearest) to (N, C, *size), uint8 0/1."""
    h, w = int(size[0]), int(size[1])
    if not is_ragged(y) and np.asarray(y).shape[2:] == (h, w):
        return np.asarray(y, np.uint8)

    def one(m: np.ndarray) -> np.ndarray:
        planes = np.asarray(m, np.uint8)
        if planes.shape[1:] == (h, w):
            return planes
        return np.stack([cv2.resize(p, (w, h), interpolation=cv2.INTER_NEAREST) for p in planes])

    if len(y) == 0:
        return np.zeros((0, 0, h, w), np.uint8)
    return np.stack([one(m) for m in y])


def areas(y: np.ndarray) -> np.ndarray:
    """Each image's count of mask pixels over its classes, (N,) int64 (dense or ragged)."""
    if is_ragged(y):
        return np.array([int(np.count_nonzero(m)) for m in y], np.int64)
    return np.asarray(np.asarray(y).reshape(len(y), -1).sum(axis=1), np.int64)
