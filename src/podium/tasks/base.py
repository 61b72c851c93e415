"""The Task seam: everything that depends on the kind of target, behind one small core and a
few optional capabilities (`podium.tasks.capabilities`). One module per task type
(`classification`, `regression`, `ordinal`, `multilabel`); other code asks the task and never
assumes class probabilities.

The core, each hook with who calls it and when:

    read_layout(cfg, table, path,   competition, submission: a table as read, into one row
      role, root)                   per id (segmentation's long run-length rows); identity
    write_layout(sub)               submit, predict: a submission into the file's layout
    clean_table(cfg, table, path)   competition: as train.csv (and solution.csv) are read;
                                    the target column(s) normalised, a bad value named
    from_table(cfg, train, ...)     competition: once, the task's schema (classes, grades,
                                    ranges) read from the cleaned train table
    check_config(cfg)               validate: before any stage writes, refuses settings
                                    and sections the task cannot honour, naming the key
    encode(table, path)             competition, external data: targets as the array `y`
    target_frame(table)             oof writers: the raw target column(s) for oof.parquet
    num_outputs, columns            the model head's width; the prediction files' columns
    training_targets(y)             units: (N, num_outputs) float32 rows the loss reads (a
                                    pixelwise task: its masks, which the engine's loader
                                    augments and resizes with each image)
    validation_targets(y, size)     units: a fold's `y` as its validation predictions are
                                    scored during training (masks at the model's size)
    build_loss(train, targets)      engine: the loss over training targets
    activate(logits)                engine, predictors: logits -> predictions
    merge(logits, how)              oof, infer, predict: views x folds x seeds -> predictions
    metric                          everywhere a score is made: the competition's metric
                                    (built in, or the user's plug-in)
    solution_columns(y)             a plug-in metric in Kaggle's form: the targets as
                                    train.csv writes them (`kaggle_frames` builds the tables)
    valid_loss                      beside the metric, breaking its ties: the task's proper
                                    validation loss (log-loss, MSE...)
    monitor                         engine: the per-epoch validation score that picks
                                    best.pt, stops early, names the history's
                                    `valid_<name>` column and scores SWA and snapshots;
                                    the metric, unless the metric needs a fitted decision

Capabilities are attributes holding an object, or None: `decision`, `stacking`,
`submission`, `pseudo`, `distill`, `folds`, `sampling`, `tabular`. Defaults (the metric
and loss when the config names none) belong to the task: `defaults`.

Arrays: `y` is the task's encoded target (class indices for classification), `pred` the
task's predictions (N, len(columns)), `logits` raw model outputs (..., N, num_outputs).
"""

from __future__ import annotations

import difflib
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch

from podium.config import CompetitionConfig, Config, TrainConfig
from podium.errors import ConfigError
from podium.metrics import Metric
from podium.metrics.plugin import FramesBuilder, load_metric
from podium.tasks.capabilities import (
    BlendStacking,
    Distillation,
    FoldScheme,
    PseudoLabels,
    Sampling,
    SubmissionCodec,
    TabularFit,
)
from podium.tasks.decisions import Decision


@dataclass(frozen=True)
class TaskDefaults:
    """What a config that names no metric or loss gets for this task."""

    metric: str
    loss: str


def resolve_metric(
    cfg: CompetitionConfig,
    task_name: str,
    metrics: dict[str, Metric],
    defaults: TaskDefaults,
    frames: FramesBuilder | None = None,
) -> Metric:
    """The competition's metric: the task's default, a built-in by name (an unknown name is
    a ConfigError with a did-you-mean), or a plug-in function (`competition.metric:
    {function: ...}`, loaded here: see `podium.metrics.plugin`)."""
    spec = cfg.metric
    if spec is None:
        return metrics[defaults.metric]
    if isinstance(spec, str):
        if spec not in metrics:
            close = difflib.get_close_matches(spec, list(metrics), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(
                f"competition.metric: unknown metric {spec!r} for a {task_name} task{hint} "
                f"(known: {sorted(metrics)}, or a plug-in: {{function: file.py:name, ...}})"
            )
        return metrics[spec]
    return load_metric(
        spec.function,
        spec.direction == "maximize",
        spec.needs,
        spec.name,
        base=spec.base_dir,
        frames=frames,
        kwargs=spec.kwargs,
    )


class Task(ABC):
    """One kind of target. Built from the competition's config and its train table."""

    name: ClassVar[str]
    metrics: ClassVar[dict[str, Metric]]  # the built-in metrics `competition.metric` names
    defaults: ClassVar[TaskDefaults]

    # capabilities (see podium.tasks.capabilities); subclasses set what they can do
    decision: Decision | None = None
    stacking: BlendStacking | None = None  # a Stacking where the task has a meta-model
    submission: SubmissionCodec
    pseudo: PseudoLabels | None = None
    distill: Distillation | None = None
    folds: FoldScheme
    sampling: Sampling | None = None
    tabular: TabularFit | None = None

    # per-pixel targets and predictions (segmentation): oof/infer use the mask store and
    # maps (`podium.mask_store`, `podium.mask_units`) instead of the row prediction files;
    # the training core's loader gives each image its mask (`engine.inputs.train_dataset`)
    pixelwise: ClassVar[bool] = False
    # stages (and `--devices`) the task does not support yet: the pipeline refuses them
    unsupported_stages: ClassVar[tuple[str, ...]] = ()

    # the sample submission's target columns, read when first asked (set by the competition
    # that reads it); None: the config's target names
    submission_columns: Callable[[], list[str]] | None = None

    def __init__(self, cfg: CompetitionConfig, source: Path, metric: Metric) -> None:
        self.cfg = cfg
        self.source = source  # the train table, for messages
        self.metric = metric

    # ---- a plug-in metric in Kaggle's form -------------------------------------------------
    def solution_columns(self, y: np.ndarray) -> dict[str, Any] | None:
        """The targets `y` as train.csv writes them (column -> values), for the solution
        table of a plug-in metric in Kaggle's form; None where the task cannot say."""
        return None

    # ---- targets ---------------------------------------------------------------------------
    @classmethod
    def read_layout(
        cls, cfg: CompetitionConfig, table: pd.DataFrame, path: Path, role: str, root: Path
    ) -> pd.DataFrame:
        """`table` (read from `path`: the `train`, `sample`, `solution` or a `submission`
        table of the competition in folder `root`) as one row per id; every task's tables
        are already, but segmentation's."""
        return table

    def write_layout(self, sub: pd.DataFrame) -> pd.DataFrame:
        """A submission of one row per id in the layout its file is written in."""
        return sub

    def bind_data(self, root: Path) -> None:
        """The competition's folder, where the task reads files beside the tables (where
        train.csv is elsewhere: a bundle's targets.csv); most tasks read none."""
        return None

    @classmethod
    @abstractmethod
    def clean_table(cls, cfg: CompetitionConfig, table: pd.DataFrame, path: Path) -> pd.DataFrame:
        """The table with its target column(s) normalised (spaces stripped...); a missing or
        malformed target is an error naming `path` and the line."""

    @classmethod
    @abstractmethod
    def from_table(
        cls,
        cfg: CompetitionConfig,
        train: pd.DataFrame,
        path: Path,
        training: TrainConfig | None = None,
    ) -> Task:
        """The task with its schema (classes, labels, ranges) read from the cleaned train table;
        `training` is the experiment's train section where the model's outputs depend on it
        (a regression's loss picks its output scale)."""

    def check_config(self, cfg: Config) -> None:
        """Refuse, as a ConfigError naming the key, settings this task cannot honour: first
        the capabilities a config asks for that the task lacks (`missing_capabilities`),
        then the task's own (subclasses extend this, calling super())."""
        for key, why in missing_capabilities(self, cfg).items():
            raise ConfigError(f"{cfg.source}: {key}: {why} (competition.task: {self.name})")

    @abstractmethod
    def encode(self, table: pd.DataFrame, path: Path) -> np.ndarray:
        """The targets of a table (train.csv, solution.csv) as the task's array `y`; a value
        that does not fit is an error naming `path`, the line and the id."""

    @abstractmethod
    def target_frame(self, table: pd.DataFrame) -> pd.DataFrame:
        """The raw target column(s) as written in train.csv, for `oof.parquet`."""

    @property
    @abstractmethod
    def num_outputs(self) -> int:
        """Model outputs (the head's width)."""

    @property
    @abstractmethod
    def columns(self) -> list[str]:
        """Prediction columns of the prediction files, in model-output order."""

    @abstractmethod
    def training_targets(self, y: np.ndarray) -> np.ndarray:
        """(N, num_outputs) float32 targets the loss reads (one-hot for a class)."""

    # ---- model outputs ---------------------------------------------------------------------
    def validation_targets(self, y: np.ndarray, image_size: tuple[int, int]) -> np.ndarray:
        """A validation fold's targets `y` as the training core scores its predictions each
        epoch (`monitor`, `valid_loss`): `y` itself; a pixelwise task's masks at the model's
        `image_size`. Called by `units.train.fold_rows`."""
        return y

    @abstractmethod
    def build_loss(self, train: TrainConfig, targets: np.ndarray) -> torch.nn.Module:
        """loss(logits, targets, weights) over rows of `training_targets`."""

    @abstractmethod
    def activate(self, logits: np.ndarray) -> np.ndarray:
        """Logits (..., N, num_outputs) -> predictions (..., N, len(columns))."""

    @abstractmethod
    def merge(self, logits: np.ndarray, how: str) -> np.ndarray:
        """Merge (M, N, num_outputs) logits of views / folds / seeds into predictions."""

    @property
    @abstractmethod
    def valid_loss(self) -> Metric:
        """The proper score reported beside the metric and used to break its ties."""

    @property
    def monitor(self) -> Metric:
        """The score the training core validates each epoch with (`engine.trainer.fit`: the
        history's `valid_<name>`, best.pt, early stopping, tune's pruner; SWA and snapshots,
        `engine.averaging`): the competition's metric, unless it scores decisions the task
        fits after training on OOF predictions (segmentation: Dice at a fixed 0.5)."""
        return self.metric


def missing_capabilities(task: Task, cfg: Config) -> dict[str, str]:
    """key -> why, for every setting of `cfg` that needs a capability `task` lacks."""
    an = f"{'an' if task.name[0] in 'aeiou' else 'a'} {task.name} task"
    asked = {
        "pseudo": (
            cfg.pseudo is not None and task.pseudo is None,
            f"pseudo-labels select confident predictions as labels; {an} has no such rows",
        ),
        "train.distill": (
            cfg.train.distill is not None and task.distill is None,
            f"{an} cannot be distilled",
        ),
        "train.sampler": (
            cfg.train.sampler != "none" and task.sampling is None,
            f"class-balanced sampling needs one class per row; {an} has none",
        ),
        "tabular": (
            cfg.tabular is not None and task.tabular is None,
            f"tabular members do not apply to {an}",
        ),
        "ensemble": (
            # a pixelwise task's maps are blended by podium.mask_ensemble, not `stacking`
            cfg.ensemble is not None and task.stacking is None and not task.pixelwise,
            f"{an} cannot be ensembled",
        ),
        **_meta_model_keys(task, cfg, an),
    }
    return {key: why for key, (missing, why) in asked.items() if missing}


def _meta_model_keys(task: Task, cfg: Config, an: str) -> dict[str, tuple[bool, str]]:
    """What an ensemble or a tune study asks of an XGBoost meta-model that a task whose
    stacking only blends (`BlendStacking.has_meta_model` False) has not: its ensemble builds
    no `stack` candidate."""
    if task.stacking is None or task.stacking.has_meta_model:
        return {}
    blends = ["best", "mean", *task.stacking.blends(), "<member>"]
    return {
        "ensemble.select": (
            cfg.ensemble is not None and cfg.ensemble.select == "stack",
            f"{an}'s ensemble has no XGBoost stack (no meta-model); choose one of {blends}",
        ),
        "tune.mode": (
            cfg.tune is not None and cfg.tune.mode == "meta",
            f"{an}'s ensemble has no XGBoost meta-model to tune",
        ),
    }
