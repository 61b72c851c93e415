"""The Task seam: one module per task type behind `podium.tasks.base.Task`. `build_task`
turns the competition's config and train table into the task every other layer asks."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from podium.config import CompetitionConfig
from podium.tasks.base import Blend, PseudoCandidates, Task
from podium.tasks.classification import Binary, Classification, Multiclass

TASKS: dict[str, type[Task]] = {"multiclass": Multiclass, "binary": Binary}

__all__ = ["TASKS", "Blend", "PseudoCandidates", "Task", "build_task", "task_type"]


def task_type(cfg: CompetitionConfig) -> type[Task]:
    return TASKS[cfg.task]


def build_task(cfg: CompetitionConfig, train: pd.DataFrame, path: Path) -> Task:
    """The competition's task, its classes (or other target schema) read from the cleaned
    train table."""
    return task_type(cfg).from_table(cfg, train, path)
