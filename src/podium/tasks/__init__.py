"""The Task seam: one module per task type behind `podium.tasks.base.Task`. `build_task`
turns the competition's config and train table into the task every other layer asks."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from podium.config import CompetitionConfig
from podium.tasks.base import Blend, PseudoCandidates, Task
from podium.tasks.classification import Binary, Classification, Multiclass

TASKS: dict[str, type[Classification]] = {"multiclass": Multiclass, "binary": Binary}

__all__ = ["TASKS", "Blend", "PseudoCandidates", "Task", "build_task"]


def build_task(cfg: CompetitionConfig, train: pd.DataFrame, path: Path) -> Task:
    """The competition's task, its classes (or other target schema) read from `train`."""
    return TASKS[cfg.task].from_table(cfg, train, path)
