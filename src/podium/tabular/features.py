"""The rows a tabular member is fitted on and predicts from (`tabular.features`): the decode
cache's pixels at `tabular.image_size`, or their histograms of oriented gradients (HOG,
scikit-image's `hog`) at one or more cell sizes, concatenated. Both `podium train` (every
fold) and `podium predict` (a bundle's test images) read them here, so a bundle computes the
same numbers as the fit.

HOG is the classical image feature a Kaggler's SVC baseline uses: local edge directions,
pooled per cell and normalised per block, so a stroke shifted by a pixel or two, or drawn in
another colour, gives nearly the same row. On the hard digits (rotated, cluttered, noisy) an
SVC on HOG reaches about 0.78 CV accuracy where the same SVC on the pixels reaches 0.57, and
its errors are not the CNNs' (see README, "The ensemble demo")."""

from __future__ import annotations

import numpy as np

from podium.config.tabular import HogConfig, TabularConfig
from podium.experiment import Experiment


def feature_rows(exp: Experiment, section: TabularConfig) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) rows of the member's features, float32 (N, F)."""
    return split_features(exp, section, "train"), split_features(exp, section, "test")


def split_features(exp: Experiment, section: TabularConfig, split: str) -> np.ndarray:
    """One split's rows of features (`podium predict` reads only the test split)."""
    pixels = split_pixels(exp, section, split)
    if section.features == "hog":
        return hog_rows(pixels, section.hog)
    return pixels.reshape(len(pixels), -1)


def split_pixels(exp: Experiment, section: TabularConfig, split: str) -> np.ndarray:
    """One split's images through the decode cache at `tabular.image_size`, as float32 in
    [0, 1]: (N, h, w) with `tabular.grayscale` (the channels' mean), else (N, h, w, C)."""
    size = (section.image_size, section.image_size)
    data = exp.cfg.data.model_copy(update={"image_size": size, "cache_size": None})
    pixels = Experiment(exp.cfg.model_copy(update={"data": data}))
    x = (pixels.train_images if split == "train" else pixels.test_images).astype(np.float32)
    x /= 255.0
    if section.grayscale:
        x = x.mean(axis=-1)
    return x


def hog_rows(pixels: np.ndarray, settings: HogConfig) -> np.ndarray:
    """HOG of each image of (N, h, w) or (N, h, w, C) `pixels`, one block of features per
    cell size in `settings.cells`, concatenated: (N, F) float32. Several channels give the
    gradient of the strongest channel at each pixel (scikit-image's `channel_axis`)."""
    from skimage.feature import hog  # here: a bundle of pixel members predicts without it

    channel_axis = -1 if pixels.ndim == 4 else None
    rows = [
        np.concatenate(
            [
                hog(
                    image,
                    orientations=settings.orientations,
                    pixels_per_cell=(cell, cell),
                    cells_per_block=(settings.block, settings.block),
                    block_norm=settings.norm,
                    channel_axis=channel_axis,
                )
                for cell in settings.cells
            ]
        )
        for image in pixels
    ]
    return np.asarray(rows, np.float32).reshape(len(pixels), -1)
