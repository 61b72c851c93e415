"""The unlabelled pool a teacher labels: the competition's test images and, optionally, an
extra folder of unlabelled images. Extra images are identified by their path inside the
folder (without suffix) and decoded through the same uint8 cache as the competition's."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from podium.config import ConfigError
from podium.experiment import Experiment

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}


def extra_image_files(folder: Path, source: str | None) -> list[Path]:
    """Every image under `folder` (recursively), in a stable order."""
    if not folder.is_dir():
        raise ConfigError(f"{source}: pseudo.extra_images folder not found: {folder}")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ConfigError(
            f"{source}: pseudo.extra_images folder {folder} holds no images ({sorted(IMAGE_SUFFIXES)})"
        )
    return files


def extra_ids(folder: Path, files: list[Path]) -> np.ndarray:
    return np.array([p.relative_to(folder).with_suffix("").as_posix() for p in files], dtype=object)


def load_extra_images(exp: Experiment, files: list[Path]) -> np.ndarray:
    """The extra images at `exp`'s cache size and reader settings (channels, window...),
    cached beside the competition's own."""
    return exp.load_images(files, "extra")
