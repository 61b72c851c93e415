"""The competition's targets by task, for the schema's validators (kept out of schema.py, which
stays under the module size limit): a regression's defaults (metric rmse, loss mse), the keys
only a regression has, and the target column names."""

from __future__ import annotations

from typing import Any

REGRESSION_ONLY = ("target_columns", "clip")
# a task's metric and loss where the config gives none (the schema's defaults are classes')
DEFAULT_METRIC = {"regression": "rmse", "multilabel": "auc"}
DEFAULT_LOSS = {"regression": "mse", "multilabel": "bce"}
ORDINAL_ONLY = ("grades", "ordinal_head")


def resolve_targets(competition: Any) -> Any:
    """A regression task scores RMSE unless told otherwise; several targets and clipping are
    regression's alone; `target_columns` are distinct and non-empty (a ValueError otherwise).
    `competition` is a CompetitionConfig (its validator calls this)."""
    c = competition
    if c.task in DEFAULT_METRIC and "metric" not in c.model_fields_set:
        c.__dict__["metric"] = DEFAULT_METRIC[
            c.task
        ]  # not setattr: that would re-run the validator
    if c.task != "regression":
        for key in REGRESSION_ONLY:
            if c.task == "multilabel" and key == "target_columns":
                continue  # one 0/1 column per label
            if key in c.model_fields_set and getattr(c, key):
                raise ValueError(f"{key} is for a regression task (task is {c.task!r})")
    if c.task == "ordinal":
        if "metric" not in c.model_fields_set:
            c.__dict__["metric"] = "qwk"
        if c.grades is not None and (len(set(c.grades)) != len(c.grades) or len(c.grades) < 2):
            raise ValueError(f"grades must be at least two distinct integers, got {c.grades}")
    else:
        for key in ORDINAL_ONLY:
            if key in c.model_fields_set and getattr(c, key) != type(c).model_fields[key].default:
                raise ValueError(f"{key} is for an ordinal task (task is {c.task!r})")
    names = c.target_columns
    if names is not None and (not names or len(set(names)) != len(names) or "" in names):
        raise ValueError(f"target_columns must be distinct and non-empty, got {names}")
    return c


def target_names(competition: Any) -> list[str]:
    """The target column(s) of train.csv: `target_columns`, else `[target_column]`."""
    c = competition
    return list(c.target_columns) if c.target_columns else [c.target_column]


def default_loss(config: Any) -> None:
    """A task's `train.loss` default where the schema's (ce, a softmax loss) does not fit:
    mse for regression and an ordinal task's regression head, bce for multilabel."""
    c = config.competition
    loss = DEFAULT_LOSS.get(c.task)
    if c.task == "ordinal" and c.ordinal_head == "regression":
        loss = "mse"
    if loss is not None and "loss" not in config.train.model_fields_set:
        config.train.__dict__["loss"] = loss  # not setattr: no re-validation
