"""The XGBoost meta-model's CV alone, for `podium tune` (mode: meta): its OOF predictions
(for a study that scores some folds' rows and holds the others out) and their score."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from podium.config import Config, ConfigError
from podium.config.ensemble import check_meta_params
from podium.ensemble.features import build_level2
from podium.ensemble.inputs import load_inputs
from podium.ensemble.stack import stack_cv
from podium.scoring import score_predictions
from podium.tasks import Task


@dataclass(frozen=True)
class MetaCV:
    """The meta-model's OOF predictions: row i of `oof` predicted by meta-models fitted
    without fold `fold[i]`; `y` the targets."""

    task: Task
    y: np.ndarray
    fold: np.ndarray
    oof: np.ndarray


def meta_cv_predictions(cfg: Config, params: dict[str, Any]) -> MetaCV:
    """The meta-model's OOF predictions on the members' folds.

    `params` are XGBoost arguments laid over `ensemble.meta.params` (e.g. a tune trial's
    `{"max_depth": 4, "learning_rate": 0.03}`; `{}`: the config's own); seeds, inner split and
    early stopping come from `ensemble.meta`. Fold k is predicted by meta-models fitted on the
    other folds only, as in `podium ensemble`; nothing is written. ConfigError if `params`
    names a key the stage sets.
    """
    section = cfg.section("ensemble")
    try:
        check_meta_params(params)
    except ValueError as e:
        raise ConfigError(f"{cfg.source}: meta_cv_score params: {e}") from None
    inputs = load_inputs(cfg, section)
    level2 = build_level2(inputs.members, inputs.comp, section.features, inputs.views)
    result = stack_cv(
        inputs.task,
        level2.train,
        level2.test[:0],
        [m.oof for m in inputs.members],
        [m.test[:0] for m in inputs.members],
        inputs.y,
        inputs.fold,
        section.meta,
        section.meta.xgb_params(params),
    )
    return MetaCV(inputs.task, inputs.y, inputs.fold, result.oof)


def meta_cv_score(cfg: Config, params: dict[str, Any]) -> float:
    """The meta-model's CV score (the competition metric) on the members' folds (see
    `meta_cv_predictions`)."""
    cv = meta_cv_predictions(cfg, params)
    # scored as every candidate is (multilabel F: thresholds fitted without each fold)
    return score_predictions(cv.task, cv.y, cv.oof, cv.fold).score
