"""What a `tabular:` section asks of the libraries and the task, checked by `podium.validate`
before anything is fitted: svc keeps its probabilities, the estimator predicts what the task
needs (a classifier's probabilities or a regressor's values), svr fits one target, and every
param is an argument of the estimator (the section's types are the config's own check)."""

from __future__ import annotations

from xgboost import XGBClassifier

from podium.config import Config, ConfigError
from podium.tabular.estimators import MODELS, REGRESSORS
from podium.tasks import Task


def check_tabular(cfg: Config, task: Task) -> None:
    """Raise ConfigError (naming the file and the key) for what `cfg.tabular` cannot fit
    with the competition's `task`: a regressor for a value task (`task.tabular.regressor`),
    a classifier otherwise."""
    section = cfg.section("tabular")
    if section.model == "svc" and section.params.get("probability") is False:
        raise ConfigError(
            f"{cfg.source}: tabular.params.probability must stay true for svc (the ensemble needs probabilities)"
        )
    values = task.tabular is not None and task.tabular.regressor
    # no tabular capability: refused as a missing capability by Task.check_config
    if task.tabular is not None and values != (section.model in REGRESSORS):
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
