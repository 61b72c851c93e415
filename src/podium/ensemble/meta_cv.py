"""The XGBoost meta-model's CV alone, for `podium tune` (mode: meta)."""

from __future__ import annotations

from typing import Any

from podium.config import Config, ConfigError
from podium.config.ensemble import check_meta_params
from podium.ensemble.features import build_level2
from podium.ensemble.inputs import load_inputs
from podium.ensemble.stack import stack_cv
from podium.scoring import score_predictions


def meta_cv_score(cfg: Config, params: dict[str, Any]) -> float:
    """The meta-model's CV score (the competition metric) on the members' folds.

    `params` are XGBoost arguments laid over `ensemble.meta.params` (e.g. a tune trial's
    `{"max_depth": 4, "learning_rate": 0.03}`); seeds, inner split and early stopping come from
    `ensemble.meta`. Fold k is predicted by meta-models fitted on the other folds only, as in
    `podium ensemble`; nothing is written. ConfigError if `params` names a key the stage sets.
    """
    section = cfg.section("ensemble")
    try:
        check_meta_params(params)
    except ValueError as e:
        raise ConfigError(f"{cfg.source}: meta_cv_score params: {e}") from None
    inputs = load_inputs(cfg, section)
    level2 = build_level2(inputs.members, inputs.comp, section.features)
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
    # scored as every candidate is (multilabel F: thresholds fitted without each fold)
    return score_predictions(inputs.task, inputs.y, result.oof, inputs.fold).score
