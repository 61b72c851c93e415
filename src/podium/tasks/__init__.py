"""The Task seam: one module per task type behind `podium.tasks.base.Task`. `build_task`
turns the competition's config and train table into the task every other layer asks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from podium.config import CompetitionConfig, TrainConfig
from podium.metrics import Metric
from podium.tasks.base import Task, resolve_metric
from podium.tasks.capabilities import Blend, PseudoCandidates
from podium.tasks.classification import Binary, Multiclass
from podium.tasks.decisions import Decision, DecisionFit
from podium.tasks.kaggle_frames import builds_kaggle_frames
from podium.tasks.multilabel import Multilabel
from podium.tasks.multitarget import Multitarget
from podium.tasks.ordinal import Ordinal
from podium.tasks.regression import Regression
from podium.tasks.segmentation import Segmentation

TASKS: dict[str, type[Task]] = {
    "multiclass": Multiclass,
    "binary": Binary,
    "regression": Regression,
    "multilabel": Multilabel,
    "ordinal": Ordinal,
    "segmentation": Segmentation,
    "multitarget": Multitarget,
}

__all__ = [
    "TASKS",
    "Blend",
    "Decision",
    "DecisionFit",
    "PseudoCandidates",
    "Task",
    "build_task",
    "metric_of",
    "task_type",
]


def task_type(cfg: CompetitionConfig) -> type[Task]:
    return TASKS[cfg.task]


def metric_of(cfg: CompetitionConfig) -> Metric:
    """The competition's metric, known without reading any table (tune's direction): its
    name and direction are those of the task's built-in or of the plug-in."""
    task = task_type(cfg)
    frames = _names_only if builds_kaggle_frames(task) else None
    return resolve_metric(cfg, task.name, task.metrics, task.defaults, frames)


def _names_only(y: np.ndarray, pred: np.ndarray) -> tuple[Any, Any, str]:
    raise RuntimeError("metric_of's metric names the metric; the task's own scores")


def build_task(
    cfg: CompetitionConfig, train: pd.DataFrame, path: Path, training: TrainConfig | None = None
) -> Task:
    """The competition's task, its classes (or other target schema) read from the cleaned
    train table; `training` where the model's outputs depend on it (a regression's loss)."""
    return task_type(cfg).from_table(cfg, train, path, training)
