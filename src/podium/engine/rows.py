"""The rows a unit trains and validates on, as the training core receives them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from podium.data.metadata import MetadataStats


@dataclass
class TrainRows:
    """What one unit trains on: uint8 images, the task's training targets (N, outputs), loss
    weights (N,), with `competition.metadata` the raw metadata matrix (N, M) and the
    statistics fitted on the fold's own training rows (podium.data.metadata.fit_stats), and
    with `train.distill` the teacher's soft targets (N, outputs)."""

    images: np.ndarray
    targets: np.ndarray
    weights: np.ndarray | None = None
    metadata: np.ndarray | None = None
    metadata_stats: MetadataStats | None = None
    teacher: np.ndarray | None = None


@dataclass
class ValidRows:
    """The validation fold: uint8 images, the task's encoded targets `y`, raw metadata."""

    images: np.ndarray
    y: np.ndarray
    metadata: np.ndarray | None = None
