"""Kaggle's tables for a plug-in metric in Kaggle's published form,
`score(solution, submission, row_id_column_name)`: built from the rows podium scores, the
solution as train.csv holds the targets (the task's `solution_columns`) and the submission
as `podium submit` writes it (the sample submission's columns).

A task that cannot say its solution columns (its `solution_columns` is the base's) builds no
tables, and `podium.metrics.plugin` refuses a Kaggle-form metric for it in one line.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from podium.errors import ConfigError
from podium.metrics.plugin import FramesBuilder
from podium.tasks.base import Task


def builds_kaggle_frames(task_type: type[Task]) -> bool:
    """Can this task build Kaggle's tables (does it say its solution columns)?"""
    return task_type.solution_columns is not Task.solution_columns


def frames_builder(task: Task) -> FramesBuilder | None:
    """What `resolve_metric` passes on for Kaggle's form: None where the task cannot build
    the solution table."""
    if not builds_kaggle_frames(type(task)):
        return None
    return lambda y, pred: kaggle_frames(task, y, pred)


def kaggle_frames(task: Task, y: np.ndarray, pred: np.ndarray) -> tuple[Any, Any, str]:
    """(solution, submission, id column): the targets as train.csv holds them and the
    predictions as `podium submit` writes them, both with the same row ids."""
    solution_columns = task.solution_columns(y)
    if solution_columns is None:  # load_metric refused it already; a guard
        raise ConfigError(f"competition.metric: a {task.name} task has no Kaggle tables")
    id_column = task.cfg.id_column
    ids = np.arange(len(y))
    columns = task.submission_columns() if task.submission_columns else task.cfg.target_names
    solution = pd.DataFrame({id_column: ids, **solution_columns})
    submission = pd.DataFrame({id_column: ids, **task.submission.values(pred, columns)})
    return solution, submission, id_column
