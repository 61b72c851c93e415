"""Regression: one or several numeric targets per row (`competition.target_column`, or a list
`competition.target_columns: [a, b]`). The model has one output per target; predictions are
values in the target's units, columns `pred_<target>`; the submission writes them (clipped to
train.csv's range with `competition.clip: true`).

Output scale (`podium.tasks.values.ValueScale`): the network trains on z-scores (mse,
huber, l1) or min-max scaled targets (`bce`, BCE-with-logits: PetFinder's trick: bounded
outputs, a smooth loss near the ends) and `activate` maps its outputs back to target units;
`huber` has delta 1, i.e. one standard deviation of the target. The scaler is fitted on every
row of train.csv (see ValueScale for why that is harmless). The validation metric and loss
are computed in target units.

Folds stratify on quantile bins of the targets (the mean z-score with several); views, folds
and seeds merge by the mean of values (`infer.merge: prob`) or by the value of the mean output
(`logit`); blends are the mean and a simplex-weighted mean fitted on MSE; the meta-model is an
XGBRegressor (`reg:squarederror`) boosted from a blend's values. Tabular members are
regressors (`tabular.model: ridge | svr`, fitted on the values). There is no pseudo-label or
sampling capability; class weights, label smoothing and probability submissions need
classes: `check_config` refuses them all, naming the key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch

from podium.config import CompetitionConfig, Config, TrainConfig
from podium.errors import ConfigError
from podium.metrics import Metric
from podium.metrics.values import MAE, MSE, REGRESSION
from podium.tasks.base import Task, TaskDefaults, resolve_metric
from podium.tasks.capabilities import TabularFit
from podium.tasks.distillation import ValueDistillation
from podium.tasks.kaggle_frames import frames_builder
from podium.tasks.losses import LOSSES, RegressionLoss
from podium.tasks.values import (
    QuantileFolds,
    ValueScale,
    ValueStacking,
    ValueSubmission,
    parse_values,
    warn_far_values,
)

PRED_PREFIX = "pred_"


def article(name: str) -> str:
    """A task's name with its article, for messages ("a regression", "an ordinal")."""
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"


def value_refusals(cfg: Config, name: str) -> dict[str, tuple[bool, str]]:
    """key -> (refused?, why): what a task predicting values (not classes) cannot honour."""
    tc, comp, a_name = cfg.train, cfg.competition, article(name)
    refused = {
        "train.class_weights": (tc.class_weights != "none", "class weights need classes"),
        "train.label_smoothing": (tc.label_smoothing > 0, "smoothing needs class labels"),
        "infer.merge": (
            cfg.infer.merge == "geometric",
            "'geometric' multiplies probabilities; use prob (mean of values) or logit "
            "(value of the mean output)",
        ),
        "competition.submission_format": (
            comp.submission_format != "label",
            f"'proba' needs classes; {a_name} submission holds the values",
        ),
        "competition.classes": (comp.classes is not None, f"{a_name} task has no classes"),
    }
    if cfg.ensemble is not None:
        # MetaConfig's default prior is logit_blend, a blend of log-probabilities
        prior = cfg.ensemble.meta.prior
        refused["ensemble.meta.prior"] = (
            prior == "logit_blend",
            "'logit_blend' (the default) weights log-probabilities; set blend, mean or none",
        )
    return refused


def raise_refused(cfg: Config, name: str, refused: dict[str, tuple[bool, str]]) -> None:
    for key, (bad, why) in refused.items():
        if bad:
            raise ConfigError(f"{cfg.source}: {key}: {why} (competition.task: {name})")


class Regression(Task):
    name = "regression"
    metrics: ClassVar[dict[str, Metric]] = REGRESSION
    defaults: ClassVar[TaskDefaults] = TaskDefaults(metric="rmse", loss="mse")

    def __init__(
        self, cfg: CompetitionConfig, source: Path, values: np.ndarray, loss: str = "mse"
    ) -> None:
        super().__init__(
            cfg,
            source,
            resolve_metric(cfg, self.name, self.metrics, self.defaults, frames_builder(self)),
        )
        self.targets = cfg.target_names
        self.loss = loss if loss in LOSSES else "mse"  # another task's loss: check_config refuses
        self.scale = ValueScale(values, self.loss)
        self.stacking = ValueStacking(self.columns)
        self.submission = ValueSubmission(self.targets, self.scale.low, self.scale.high, cfg.clip)
        self.distill = ValueDistillation(self.scale.training_targets, self.loss == "bce")
        self.folds = QuantileFolds(self.scale.mean, self.scale.std)
        self.tabular = TabularFit(regressor=True)

    @classmethod
    def clean_table(cls, cfg: CompetitionConfig, table: pd.DataFrame, path: Path) -> pd.DataFrame:
        names = cfg.target_names
        values = parse_values(table, names, cfg.id_column, path)
        return table.assign(**{c: values[:, j] for j, c in enumerate(names)})

    @classmethod
    def from_table(
        cls,
        cfg: CompetitionConfig,
        train: pd.DataFrame,
        path: Path,
        training: TrainConfig | None = None,
    ) -> Regression:
        values = parse_values(train, cfg.target_names, cfg.id_column, path)
        warn_far_values(values, train, cfg.target_names, path, cfg.id_column)
        loss = (training.loss if training is not None else None) or cls.defaults.loss
        return cls(cfg, path, values, loss)

    def check_config(self, cfg: Config) -> None:
        super().check_config(cfg)
        loss = cfg.train.loss
        raise_refused(
            cfg,
            self.name,
            {
                "train.loss": (
                    loss is not None and loss not in LOSSES,
                    f"{loss!r} is a classification loss; {article(self.name)} task takes "
                    f"{list(LOSSES)}",
                ),
                **value_refusals(cfg, self.name),
            },
        )

    # ---- targets ---------------------------------------------------------------------------
    def encode(self, table: pd.DataFrame, path: Path) -> np.ndarray:
        return parse_values(table, self.targets, self.cfg.id_column, path)

    def target_frame(self, table: pd.DataFrame) -> pd.DataFrame:
        if len(self.targets) == 1:
            return pd.DataFrame({"target": table[self.targets[0]].to_numpy()})
        return pd.DataFrame({f"target_{t}": table[t].to_numpy() for t in self.targets})

    def solution_columns(self, y: np.ndarray) -> dict[str, Any]:
        values = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
        return {t: values[:, i] for i, t in enumerate(self.targets)}

    @property
    def num_outputs(self) -> int:
        return len(self.targets)

    @property
    def columns(self) -> list[str]:
        return [f"{PRED_PREFIX}{t}" for t in self.targets]

    def training_targets(self, y: np.ndarray) -> np.ndarray:
        return self.scale.training_targets(y)

    # ---- model outputs ---------------------------------------------------------------------
    def build_loss(self, train: TrainConfig, targets: np.ndarray) -> torch.nn.Module:
        return RegressionLoss(train.loss if train.loss in LOSSES else self.loss)

    def activate(self, logits: np.ndarray) -> np.ndarray:
        return self.scale.activate(logits)

    def merge(self, logits: np.ndarray, how: str) -> np.ndarray:
        return self.scale.merge(logits, how, article(self.name))

    @property
    def valid_loss(self) -> Metric:
        """The loss in target units: MAE for `l1`, MSE otherwise."""
        return MAE if self.loss == "l1" else MSE
