"""The `tabular:` section of a member config, validated once at the boundary.

tabular:
  model: svc            # svc, logistic, knn, extra_trees, random_forest, xgboost;
                        # ridge, svr for the value tasks (regression, ordinal)
  params: {C: 10, gamma: 0.25}   # keyword arguments of that estimator
  image_size: 8         # pixels come from the uint8 decode cache at this size (h = w)
  grayscale: false      # false: every channel of data.channels (h x w x C values); true: their
                        # mean (h x w values), which loses a signal held between channels
  standardize: false    # a StandardScaler in front of the model
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from xgboost import XGBClassifier

from podium.config import Config, ConfigError, parse_section
from podium.fingerprint import config_part
from podium.tabular.estimators import MODELS, REGRESSORS
from podium.tasks import task_type


class TabularConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: Literal[
        "svc", "logistic", "knn", "extra_trees", "random_forest", "xgboost", "ridge", "svr"
    ]
    params: dict[str, Any] = Field(default_factory=dict)
    image_size: int = Field(8, ge=1)
    grayscale: bool = False  # the competition's channels (true: their mean, one per pixel)
    standardize: bool = False


def parse_tabular(cfg: Config) -> TabularConfig:
    """The validated `tabular:` section; ConfigError names the file and the key."""
    section = parse_section(cfg, "tabular", TabularConfig, data=cfg.tabular or {})
    if section.model == "svc" and section.params.get("probability") is False:
        raise ConfigError(
            f"{cfg.source}: tabular.params.probability must stay true for svc (the ensemble needs probabilities)"
        )
    values = task_type(cfg.competition).predicts_values
    if values != (section.model in REGRESSORS):
        kinds = list(REGRESSORS) if values else [m for m in MODELS if m not in REGRESSORS]
        what = "a classifier (probabilities)" if values else "a regressor (values)"
        raise ConfigError(
            f"{cfg.source}: tabular: {section.model!r} is {what}; a "
            f"{cfg.competition.task} task takes {kinds}"
        )
    if section.model == "svr" and len(cfg.competition.target_names) > 1:
        raise ConfigError(
            f"{cfg.source}: tabular.model: svr fits one target; use ridge for "
            f"competition.target_columns {cfg.competition.target_names}"
        )
    cls, _, _ = MODELS[section.model]
    # XGBoost passes unknown keyword arguments on to its booster; sklearn's estimators refuse them
    unknown = sorted(set(section.params) - set(cls().get_params()))
    if unknown and cls is not XGBClassifier:
        raise ConfigError(
            f"{cfg.source}: tabular.params {unknown} are not arguments of {cls.__name__}"
        )
    return section


def tabular_config(cfg: Config) -> dict[str, Any]:
    """What a tabular member's predictions depend on in its config: its own section and the
    seeds (non-default values only); CNN settings (an ensemble's `train.epochs=3`) do not."""
    return {"tabular": config_part(parse_tabular(cfg)), "seeds": cfg.train.seeds}
