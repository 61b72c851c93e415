"""Ground-truth masks stored as image files (PNG, GIF, TIFF, ... whatever OpenCV decodes), in
one of three layouts (`MaskFiles.layout`):

    binary      one file per image, one class: 0 is background, 255 (or 1) foreground
                (Carvana's `train_masks/{id}_mask.gif`); other values are an error, so
                that a JPEG-smoothed or an index mask is not silently thresholded
    index       one file per image, a class index per pixel: 0 is background, k in
                1..C is `classes[k - 1]`; a value above C is an error
    per_class   one binary file per (image, class): the template holds `{class}`

The template is a path relative to `root` holding `{id}` (and `{class}` for per_class),
e.g. `masks/{id}.png`. A mask file must be one channel (a colour file whose channels are
equal, as OpenCV decodes a GIF, is read as one); given the images' sizes (`shapes`) each mask
must have its image's size, which `image_size` reads from the image file's header. Every
problem is a one-line DataError naming the mask file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from podium.errors import ConfigError, DataError
from podium.segmentation.masks import Shapes, checked_classes, shape_of

Layout = Literal["binary", "index", "per_class"]
LAYOUTS: tuple[Layout, ...] = ("binary", "index", "per_class")


def image_size(path: Path, image_id: str) -> tuple[int, int]:
    """An image file's (height, width): from its header (Pillow) where it can, else decoded
    (OpenCV); a missing or unreadable file names itself and its id."""
    from PIL import Image, UnidentifiedImageError  # local: only sizes read headers

    try:
        with Image.open(path) as img:
            return int(img.height), int(img.width)
    except FileNotFoundError:
        raise DataError(f"image not found: {path} (id {image_id!r})") from None
    except (UnidentifiedImageError, OSError):
        pass
    pixels = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if pixels is None:
        raise DataError(f"{path}: not a readable image (id {image_id!r})")
    return int(pixels.shape[0]), int(pixels.shape[1])


def read_mask_image(path: Path) -> np.ndarray:
    """A mask file's pixels as (H, W) integers, unscaled (a 16-bit PNG stays 16-bit)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"mask file not found: {path}") from None
    except OSError as e:
        raise DataError(f"{path}: mask file unreadable ({e.strerror or e})") from None
    pixels = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if pixels is None:
        raise DataError(f"{path}: not a readable image (corrupt, or a format OpenCV lacks)")
    if pixels.ndim == 3:
        colour = pixels[..., :3]  # a fourth channel is alpha
        if (colour != colour[..., :1]).any():
            raise DataError(
                f"{path}: a colour mask (its channels differ); a mask file is one channel "
                "of 0/255 or class indices"
            )
        pixels = colour[..., 0]
    if not np.issubdtype(pixels.dtype, np.integer):
        raise DataError(f"{path}: a mask of {pixels.dtype} pixels; expected integers")
    return pixels


def _present(pixels: np.ndarray) -> np.ndarray:
    """The distinct pixel values (a bincount for 8 bits: no sort of a large image)."""
    if pixels.dtype == np.uint8:
        return np.flatnonzero(np.bincount(pixels.ravel(), minlength=256))
    return np.unique(pixels)


def _values(values: np.ndarray, limit: int = 6) -> str:
    shown = ", ".join(str(v) for v in values[:limit].tolist())
    return shown + (f", ... ({len(values)} values)" if len(values) > limit else "")


def binary_pixels(pixels: np.ndarray, path: Path) -> np.ndarray:
    """A binary mask file's foreground: 0/255 or 0/1, nothing else."""
    values = _present(pixels)
    if set(values.tolist()) - {0, 255} and set(values.tolist()) - {0, 1}:
        raise DataError(
            f"{path}: a binary mask holds 0 and 255 (or 0 and 1); found {_values(values)}"
        )
    foreground: np.ndarray = pixels != 0
    return foreground


def index_pixels(pixels: np.ndarray, classes: tuple[str, ...], path: Path) -> np.ndarray:
    """An index mask file's (C, H, W) masks: pixel value k is class k (0 is background)."""
    values = _present(pixels)
    if (values < 0).any() or (values > len(classes)).any():
        bad = values[(values < 0) | (values > len(classes))]
        raise DataError(
            f"{path}: pixel value {bad[0]} is a class index outside the {len(classes)} classes "
            f"(0 is background, 1..{len(classes)} are {', '.join(classes)}); found "
            f"{_values(values)}"
        )
    index = np.arange(1, len(classes) + 1, dtype=pixels.dtype)
    masks: np.ndarray = pixels[None] == index[:, None, None]
    return masks


@dataclass(frozen=True)
class MaskFiles:
    """Mask files found by a path template (see the module docstring); reads one image's
    (C, H, W) masks on demand."""

    template: str
    layout: Layout
    classes: tuple[str, ...]
    root: Path = Path(".")
    shapes: Shapes | None = None  # the images' (height, width), checked when given
    where: str = field(default="segmentation masks", compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "classes", checked_classes(self.classes, self.where))
        if self.layout not in LAYOUTS:
            raise ConfigError(
                f"{self.where}: mask layout {self.layout!r} is not one of {', '.join(LAYOUTS)}"
            )
        if "{id}" not in self.template:
            raise ConfigError(f"{self.where}: mask path {self.template!r} has no {{id}}")
        per_class = self.layout == "per_class"
        if per_class != ("{class}" in self.template):
            need = "needs" if per_class else "is for the per_class layout; drop"
            raise ConfigError(
                f"{self.where}: mask path {self.template!r}: layout {self.layout} {need} {{class}}"
            )
        if self.layout == "binary" and len(self.classes) != 1:
            raise ConfigError(
                f"{self.where}: a binary mask file holds one class, not {len(self.classes)} "
                f"({', '.join(self.classes)}); use layout index or per_class"
            )

    def path(self, image_id: str, cls: str | None = None) -> Path:
        """The mask file of an image (and, per_class, of one class)."""
        rel = self.template.replace("{id}", image_id)
        if cls is not None:
            rel = rel.replace("{class}", cls)
        return self.root / rel

    def paths(self, image_id: str) -> list[Path]:
        if self.layout == "per_class":
            return [self.path(image_id, c) for c in self.classes]
        return [self.path(image_id)]

    def missing(self, ids: Sequence[str]) -> list[Path]:
        """The mask files of `ids` that do not exist (a cheap check before training)."""
        return [p for i in ids for p in self.paths(i) if not p.is_file()]

    def check_exist(self, ids: Sequence[str]) -> None:
        """A DataError naming the first missing mask file and how many are missing."""
        if gone := self.missing(ids):
            more = f" (and {len(gone) - 1} more)" if len(gone) > 1 else ""
            raise DataError(f"mask file not found: {gone[0]}{more}")

    def mask(self, image_id: str) -> np.ndarray:
        """Image `image_id`'s (C, H, W) bool masks."""
        if self.layout == "per_class":
            paths = self.paths(image_id)
            planes = [binary_pixels(self._read(p, image_id), p) for p in paths]
            sizes = {p.shape for p in planes}
            if len(sizes) > 1:
                raise DataError(
                    f"the mask files of image {image_id!r} differ in size: "
                    + ", ".join(
                        f"{p} is {a.shape[0]}x{a.shape[1]}"
                        for p, a in zip(paths, planes, strict=True)
                    )
                )
            return np.stack(planes)
        path = self.path(image_id)
        pixels = self._read(path, image_id)
        if self.layout == "binary":
            return binary_pixels(pixels, path)[None]
        return index_pixels(pixels, self.classes, path)

    def _read(self, path: Path, image_id: str) -> np.ndarray:
        pixels = read_mask_image(path)
        if self.shapes is not None:
            height, width = shape_of(self.shapes, image_id, self.where)
            if pixels.shape != (height, width):
                raise DataError(
                    f"{path}: the mask is {pixels.shape[0]}x{pixels.shape[1]} but its image "
                    f"{image_id!r} is {height}x{width} (height x width)"
                )
        return pixels
