"""Ordinal: one integer grade per row (APTOS: 0-4), scored by quadratic weighted kappa.

Grades are `competition.grades` or, by default, every integer from train.csv's lowest grade
to its highest (a grade absent from train still sits between its neighbours). A target that
is not an integer, or not one of the grades, is an error naming its line.

The model predicts on the grade scale; predictions are one value per row, `pred_<target>`,
whatever the head (`competition.ordinal_head`):

    regression    one output, a Regression on the grade (mse, huber, l1 or bce on the scaled
                  grade, `podium.tasks.regression`): pred = the value
    expectation   one output per grade, soft-target cross-entropy on the grade as a class
                  (ce or focal; label smoothing, class weights and samplers apply):
                  pred = sum_g softmax(logits)_g * g, the expected grade

Views, folds and seeds merge in the head's space: the mean of values (regression), or the
probabilities merged (`infer.merge`: prob, logit, geometric) and then their expected grade.
Blends, the meta-model (XGBRegressor, `reg:squarederror`) and tabular regressors all work on
these values, as for a regression.

The two heads are two strategies (`RegressionHead`, `ExpectationHead`), not branches.

Decisions. QWK scores grades, so values become grades through cut-points (the decision
`podium.tasks.decisions.Cutpoints`). Where the folds are known (oof, tabular, the ensemble's
candidates) the reported QWK is CV-honest: fold k graded with cut-points fitted on the other
folds; the cut-points fitted on every OOF row are saved in scores.json (`final.decision`) and
grade the test rows of the submission; the ensemble's paired comparison counts the CV-graded
grades; the nested selection's per-fold choice grades the other folds with cut-points fitted
among them. Where no folds are known (an epoch's validation score, a submitted file) the QWK
is that of the values rounded to the nearest grade, which fits nothing. The validation loss is the MSE in grade units for both heads, so members with
different heads compare. There is no pseudo-label capability; the expectation head has no
distillation (its teacher's merged prediction is a grade value, not a distribution).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch

from podium.config import CompetitionConfig, Config, TrainConfig
from podium.errors import DataError
from podium.metrics import Metric
from podium.metrics.ordinal import apply_cutpoints, midpoint_cuts, qwk_metric
from podium.metrics.values import MSE
from podium.tasks.base import Task, TaskDefaults, resolve_metric
from podium.tasks.capabilities import FoldScheme, TabularFit
from podium.tasks.decisions import Cutpoints
from podium.tasks.distillation import ValueDistillation
from podium.tasks.kaggle_frames import frames_builder
from podium.tasks.ordinal_heads import ExpectationHead, GradeSampling, OrdinalHead, RegressionHead
from podium.tasks.regression import article, raise_refused
from podium.tasks.values import ValueStacking, ValueSubmission, parse_values

_log = logging.getLogger(__name__)


def parse_grades(
    table: pd.DataFrame,
    cfg: CompetitionConfig,
    path: Path,
    grades: np.ndarray | list[int] | None = None,
) -> np.ndarray:
    """(N, 1) float64 grades; a non-integer value, or one that is not in `grades`, names its
    line and id."""
    column = cfg.target_column
    values = parse_values(table, [column], cfg.id_column, path)
    v = values[:, 0]
    bad = v != np.round(v)
    if grades is not None:
        bad |= ~np.isin(v, np.asarray(grades, np.float64))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        which = f" (id {table[cfg.id_column].iloc[i]!r})" if cfg.id_column in table.columns else ""
        text = str(table[column].iloc[i]).strip()
        what = (
            "not an integer grade"
            if v[i] != np.round(v[i])
            else f"not one of the grades {[int(g) for g in np.asarray(grades)]}"
        )
        raise DataError(f"{path}: line {i + 2}{which}, column {column!r} has {text!r}, {what}")
    return values


def warn_absent_grades(values: np.ndarray, grades: np.ndarray, path: Path) -> None:
    """A grade with no training row cannot be predicted: the cut-points that grade the
    predictions are fitted on rows of each grade (and a head has no example of it)."""
    absent = [int(g) for g in grades if not (values == g).any()]
    if absent:
        _log.warning(
            "%s: grade(s) %s of the grades %s have no row in the train table; they cannot be "
            "predicted (no cut-point or output learns them), while QWK still measures "
            "distance by grade value across them; set competition.grades to the grades that "
            "exist so that none is aimed at",
            path,
            absent,
            [int(g) for g in grades],
        )


class GradeStacking(ValueStacking):
    """A value task's stack; a row is right when its grade is (the McNemar count reads the
    grades the cut-points decided, which rounding leaves as they are)."""

    def __init__(self, columns: list[str], grades: np.ndarray) -> None:
        super().__init__(columns)
        self.grades = grades

    def correct(self, y: np.ndarray, pred: np.ndarray) -> np.ndarray:
        x = np.asarray(pred, np.float64).reshape(len(pred), -1)[:, 0]
        rounded = apply_cutpoints(x, midpoint_cuts(self.grades), self.grades)
        return rounded == np.asarray(y).reshape(len(y), -1)[:, 0]


class GradeSubmission(ValueSubmission):
    """Integer grades: the values the cut-points decided (rounded if given values)."""

    def __init__(self, target: str, grades: np.ndarray) -> None:
        super().__init__([target], grades[:1], grades[-1:], clip=False)
        self.grades = grades

    def values(self, pred: np.ndarray, columns: list[str]) -> dict[str, np.ndarray]:
        x = np.asarray(pred, np.float64).reshape(len(pred), -1)[:, 0]
        rounded = apply_cutpoints(x, midpoint_cuts(self.grades), self.grades)
        return {c: rounded for c in self.target_of(columns)}

    def check_column(self, values: pd.Series, column: str, source: str) -> None:
        super().check_column(values, column, source)
        num = pd.to_numeric(values, errors="coerce").to_numpy(np.float64)
        bad = ~np.isin(num, self.grades.astype(np.float64))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataError(
                f"{source}: line {i + 2}, column {column!r} = {values.iloc[i]!r} is not one of "
                f"the grades {self.grades.tolist()}"
            )


class GradeFolds(FoldScheme):
    """Stratified on the grade itself (its position among the grades)."""

    def __init__(self, grades: np.ndarray) -> None:
        self.grades = grades

    def stratify_key(self, y: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.grades, np.asarray(y).reshape(len(y), -1)[:, 0]).astype(
            np.int64
        )

    def describe_stratum(self, key: object) -> str:
        return f"grade {int(self.grades[int(key)])}"  # type: ignore[call-overload]


class Ordinal(Task):
    name = "ordinal"
    metrics: ClassVar[dict[str, Metric]] = {"qwk": qwk_metric()}
    defaults: ClassVar[TaskDefaults] = TaskDefaults(metric="qwk", loss="mse")

    def __init__(
        self,
        cfg: CompetitionConfig,
        source: Path,
        values: np.ndarray,
        grades: np.ndarray,
        loss: str = "mse",
    ) -> None:
        self.grades = np.asarray(grades, dtype=np.int64)
        # QWK over every grade, so a grade absent from a fold still counts in the distances
        metrics = {"qwk": qwk_metric(self.grades)}
        metric = resolve_metric(cfg, self.name, metrics, self.defaults, frames_builder(self))
        super().__init__(cfg, source, metric)
        self.head: OrdinalHead = (
            ExpectationHead(self.grades)
            if cfg.ordinal_head == "expectation"
            else RegressionHead(values, loss)
        )
        plugin = metric.source is not None
        if metric.needs == "decisions":
            self.decision = Cutpoints(self.grades, metric if plugin else None)
        self.stacking = GradeStacking(self.columns, self.grades)
        self.submission = GradeSubmission(cfg.target_column, self.grades)
        if isinstance(self.head, RegressionHead):
            scale = self.head.scale
            self.distill = ValueDistillation(scale.training_targets, self.head.loss == "bce")
        self.folds = GradeFolds(self.grades)
        self.sampling = GradeSampling() if isinstance(self.head, ExpectationHead) else None
        self.tabular = TabularFit(regressor=True)

    @classmethod
    def clean_table(cls, cfg: CompetitionConfig, table: pd.DataFrame, path: Path) -> pd.DataFrame:
        values = parse_grades(table, cfg, path, cfg.grades)
        return table.assign(**{cfg.target_column: values[:, 0]})

    @classmethod
    def from_table(
        cls,
        cfg: CompetitionConfig,
        train: pd.DataFrame,
        path: Path,
        training: TrainConfig | None = None,
    ) -> Ordinal:
        values = parse_grades(train, cfg, path, cfg.grades)
        if cfg.grades is not None:
            grades = np.asarray(sorted(cfg.grades), dtype=np.int64)
        else:
            low, high = int(values.min()), int(values.max())
            grades = np.arange(low, high + 1, dtype=np.int64)
        if len(grades) < 2:
            raise DataError(f"{path} has one grade ({int(grades[0])}); QWK needs at least two")
        warn_absent_grades(values[:, 0], grades, path)
        head = ExpectationHead if cfg.ordinal_head == "expectation" else RegressionHead
        loss = (training.loss if training is not None else None) or head.default_loss
        return cls(cfg, path, values, grades, loss)

    def check_config(self, cfg: Config) -> None:
        super().check_config(cfg)
        raise_refused(cfg, self.name, self.head.refusals(cfg))

    # ---- targets ---------------------------------------------------------------------------
    def encode(self, table: pd.DataFrame, path: Path) -> np.ndarray:
        return parse_grades(table, self.cfg, path, self.grades)

    def target_frame(self, table: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"target": table[self.cfg.target_column].to_numpy()})

    def solution_columns(self, y: np.ndarray) -> dict[str, Any]:
        return {self.cfg.target_column: np.asarray(y).reshape(-1)}

    @property
    def num_outputs(self) -> int:
        return self.head.num_outputs

    @property
    def columns(self) -> list[str]:
        return [f"pred_{self.cfg.target_column}"]

    def training_targets(self, y: np.ndarray) -> np.ndarray:
        return self.head.training_targets(y)

    # ---- model outputs ---------------------------------------------------------------------
    def build_loss(self, train: TrainConfig, targets: np.ndarray) -> torch.nn.Module:
        return self.head.build_loss(train, targets)

    def activate(self, logits: np.ndarray) -> np.ndarray:
        return self.head.activate(logits)

    def merge(self, logits: np.ndarray, how: str) -> np.ndarray:
        return self.head.merge(logits, how)

    @property
    def valid_loss(self) -> Metric:
        return MSE  # in grade units, for either head: members with different heads compare


__all__ = ["Ordinal", "article", "parse_grades"]
