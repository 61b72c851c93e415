"""The Task seam: one module per task type behind `podium.tasks.base.Task`. `build_task`
turns the competition's config and train table into the task every other layer asks."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from podium.config import CompetitionConfig, TrainConfig
from podium.errors import ConfigError
from podium.metrics import Metric
from podium.tasks.base import Blend, PseudoCandidates, Task
from podium.tasks.classification import Binary, Multiclass
from podium.tasks.multilabel import Multilabel
from podium.tasks.ordinal import Ordinal
from podium.tasks.regression import Regression

TASKS: dict[str, type[Task]] = {
    "multiclass": Multiclass,
    "binary": Binary,
    "regression": Regression,
    "multilabel": Multilabel,
    "ordinal": Ordinal,
}

__all__ = ["TASKS", "Blend", "PseudoCandidates", "Task", "build_task", "metric_of", "task_type"]


def task_type(cfg: CompetitionConfig) -> type[Task]:
    return TASKS[cfg.task]


def metric_of(cfg: CompetitionConfig) -> Metric:
    """The competition's metric, known without reading any table (tune's direction)."""
    metrics = task_type(cfg).metrics
    if cfg.metric not in metrics:
        raise ConfigError(
            f"competition.metric: unknown metric {cfg.metric!r} for a {cfg.task} task"
        )
    return metrics[cfg.metric]


def build_task(
    cfg: CompetitionConfig, train: pd.DataFrame, path: Path, training: TrainConfig | None = None
) -> Task:
    """The competition's task, its classes (or other target schema) read from the cleaned
    train table; `training` where the model's outputs depend on it (a regression's loss)."""
    return task_type(cfg).from_table(cfg, train, path, training)
