"""The Task seam: everything that depends on the kind of target lives behind this interface,
one module per task type (`multiclass`, `binary`, `regression`, `multilabel`, `ordinal`).

Other code asks the task and never assumes class probabilities: how targets are read from
`train.csv` into arrays and back into submission values, the number of model outputs, the
loss, the activation from logits to predictions, the prediction columns of `oof.parquet` /
`test.parquet`, how TTA views, folds and seeds are merged, the stratification key of the
folds, which unlabelled rows make pseudo-labels, and what the stacking meta-model fits.

Arrays: `y` is the task's encoded target (class indices for classification), `pred` the
task's predictions (N, len(columns)), `logits` raw model outputs (..., N, num_outputs).
"""

from __future__ import annotations

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

# a blend: fit(preds, y) -> weights; apply(preds, weights) -> pred
BlendFit = Callable[[list[np.ndarray], np.ndarray], np.ndarray]
BlendApply = Callable[[list[np.ndarray], np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Blend:
    fit: BlendFit
    apply: BlendApply
    note: str  # how the report describes its weights ("weights", "log-prob weights")


@dataclass(frozen=True)
class PseudoCandidates:
    """What pseudo-label selection needs of a teacher's predictions (N rows)."""

    group: np.ndarray  # (N,) int in [0, groups): rows are ranked and capped within a group
    groups: int  # how many groups there are (the classes), empty ones included
    confidence: np.ndarray  # (N,) float: higher is surer
    label: np.ndarray  # (N,) the label a row would get, as written in train.csv


class Task(ABC):
    """One kind of target. Built from the competition's config and its train table."""

    name: ClassVar[str]
    metrics: ClassVar[dict[str, Metric]]
    # may a submission cell be empty (a multilabel row with no tag)?
    empty_submission_values: ClassVar[bool] = False
    # predictions are values (regression, ordinal), not class probabilities: tabular members
    # are regressors
    predicts_values: ClassVar[bool] = False
    # the submission needs a decision fitted on the OOF rows (ordinal cut-points): `decide`
    decides: ClassVar[bool] = False
    # the keys of scores.json's `final` block the submission reads (`decide`, `for_submission`):
    # what `podium export` carries into a bundle for `podium predict`
    decision_keys: ClassVar[tuple[str, ...]] = ()

    def __init__(self, cfg: CompetitionConfig, source: Path) -> None:
        self.cfg = cfg
        self.source = source  # the train table, for messages
        if cfg.metric not in self.metrics:
            import difflib

            close = difflib.get_close_matches(cfg.metric, list(self.metrics), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(
                f"competition.metric: unknown metric {cfg.metric!r} for a {self.name} task{hint} "
                f"(known: {sorted(self.metrics)})"
            )

    # ---- targets ---------------------------------------------------------------------------
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

    def check_config(self, cfg: Config) -> None:  # noqa: B027 (optional hook, no-op default)
        """Refuse, as a ConfigError naming the key, settings this task cannot honour (a loss
        of another task, a class sampler without classes...): run before anything is written."""

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

    @abstractmethod
    def sampler_labels(self, targets: np.ndarray) -> np.ndarray | None:
        """(N,) class of each training row for a class-balanced sampler; None if none."""

    @abstractmethod
    def stratify_key(self, y: np.ndarray) -> np.ndarray:
        """(N,) key that stratified folds balance (the class, a quantile bin...)."""

    @abstractmethod
    def describe_stratum(self, key: Any) -> str:
        """How an error names one stratum ("class '3'")."""

    # ---- model outputs ---------------------------------------------------------------------
    @abstractmethod
    def build_loss(self, train: TrainConfig, targets: np.ndarray) -> torch.nn.Module:
        """loss(logits, targets, weights) over rows of `training_targets`."""

    @abstractmethod
    def activate(self, logits: np.ndarray) -> np.ndarray:
        """Logits (..., N, num_outputs) -> predictions (..., N, len(columns))."""

    @abstractmethod
    def merge(self, logits: np.ndarray, how: str) -> np.ndarray:
        """Merge (M, N, num_outputs) logits of views / folds / seeds into predictions."""

    @abstractmethod
    def validation_loss(self, y: np.ndarray, pred: np.ndarray) -> float:
        """The proper score reported beside the metric and used to break its ties."""

    @abstractmethod
    def correct(self, y: np.ndarray, pred: np.ndarray) -> np.ndarray | None:
        """(N,) bool: is each row right (for the paired McNemar count)? None if undefined."""

    def metric(self, name: str | None = None) -> Metric:
        return self.metrics[name or self.cfg.metric]

    # ---- decisions fitted on OOF rows (ordinal cut-points) ---------------------------------
    def decided_scores(
        self, y: np.ndarray, pred: np.ndarray, fold: np.ndarray, block: dict[str, Any]
    ) -> dict[str, Any]:
        """A score block (`podium.scoring.score_block`) with the metric re-scored after a
        decision fitted CV-honestly on the folds (fold k decided by what the other folds fit)
        and the fitted decision kept; unchanged for tasks that decide nothing."""
        return block

    def decided_oof(self, y: np.ndarray, pred: np.ndarray, fold: np.ndarray) -> np.ndarray:
        """OOF predictions after the decision fitted without each row's fold (what the paired
        comparison of two candidates counts); unchanged for tasks that decide nothing."""
        return pred

    def decide(self, pred: np.ndarray, final: dict[str, Any], source: str) -> np.ndarray:
        """Test predictions decided with what `decided_scores` fitted on every OOF row (the
        run's scores.json `final` block, read from `source`)."""
        return pred

    def report_lines(self, block: dict[str, Any]) -> list[str]:
        """Lines describing a score block's fitted decision, for the stages' printouts."""
        return []

    # ---- submissions -----------------------------------------------------------------------
    @abstractmethod
    def submission_values(self, pred: np.ndarray, columns: list[str]) -> dict[str, np.ndarray]:
        """The sample submission's target `columns` filled from predictions (N rows)."""

    @abstractmethod
    def check_submission_column(self, values: pd.Series, column: str, source: str) -> None:
        """Refuse a submission column whose values this task cannot have (names the line)."""

    @abstractmethod
    def submission_predictions(self, sub: pd.DataFrame, columns: list[str]) -> np.ndarray:
        """A submission's values back as predictions, to score them (`podium score`)."""

    # ---- ensembles -------------------------------------------------------------------------
    @abstractmethod
    def blends(self) -> dict[str, Blend]:
        """The fitted blends the ensemble compares, by candidate name."""

    @abstractmethod
    def level2_features(
        self, preds: list[np.ndarray], names: list[str], logits: bool, row_stats: bool, mean: bool
    ) -> tuple[np.ndarray, list[str]]:
        """The meta-model's features made from the members' predictions."""

    @abstractmethod
    def prior_margin(self, preds: list[np.ndarray], weights: np.ndarray, prior: str) -> np.ndarray:
        """The meta-model's starting scores (XGBoost base_margin) from a blend of members."""

    @abstractmethod
    def meta_estimator(self, params: dict[str, Any]) -> Any:
        """The XGBoost meta-model (sklearn API) with the objective and evaluation metric of
        this task, built from `params` (the stage's and the user's arguments)."""

    @abstractmethod
    def meta_predict(self, model: Any, x: np.ndarray, margin: np.ndarray | None) -> np.ndarray:
        """A fitted meta-model's predictions."""

    # ---- pseudo-labels ---------------------------------------------------------------------
    @abstractmethod
    def pseudo_candidates(self, pred: np.ndarray) -> PseudoCandidates:
        """Groups, confidences and labels of a teacher's predictions."""

    @property
    @abstractmethod
    def label_names(self) -> list[str]:
        """Every label a pseudo row can get, as written in train.csv (for per-label reports)."""

    @abstractmethod
    def pseudo_targets(self, pred: np.ndarray, soft: bool) -> np.ndarray:
        """Training targets of pseudo rows: the teacher's predictions or hard labels."""

    # ---- knowledge distillation (`train.distill`) ------------------------------------------
    def distill_targets(self, pred: np.ndarray, temperature: float) -> np.ndarray:
        """A teacher's merged predictions (N, columns) as the student's soft targets."""
        raise ConfigError(f"train.distill: a {self.name} task cannot be distilled")

    def distill_loss(
        self, logits: torch.Tensor, soft: torch.Tensor, temperature: float
    ) -> torch.Tensor:
        """Per-row loss of the student's logits against `distill_targets`."""
        raise ConfigError(f"train.distill: a {self.name} task cannot be distilled")

    # ---- hooks with a default: what only some tasks do ------------------------------------
    def split_folds(
        self, y: np.ndarray, method: str, n_splits: int, seed: int, groups: np.ndarray | None
    ) -> np.ndarray | None:
        """(N,) fold of each row where the task splits its own way (multilabel: iterative
        stratification); None leaves it to `podium.folds`' scikit-learn splitters."""
        return None

    def oof_decisions(
        self, y: np.ndarray, pred: np.ndarray, fold: np.ndarray
    ) -> tuple[np.ndarray, dict[str, Any] | None]:
        """OOF predictions as the metric scores them, and what was fitted to make them
        (JSON-ready, merged into the score block): fold k's decisions must come from rules
        fitted without fold k (multilabel thresholds). Default: the predictions, nothing."""
        return pred, None

    def for_submission(self, final: dict[str, Any] | None, source: str) -> Task:
        """The task as a submission needs it, given the run's scores.json `final` block (None:
        the run has no scores.json; `source` names where it was read, for messages):
        multilabel: with the thresholds fitted on every OOF row. Default: itself."""
        return self

    def tabular_model(self, model: Any) -> Any:
        """The scikit-learn estimator a tabular member fits for this task (multilabel wraps it
        one-vs-rest). Default: the classifier as it is."""
        return model
