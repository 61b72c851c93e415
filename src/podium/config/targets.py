"""The competition's targets by task, for the schema's validators (kept out of schema.py, which
stays under the module size limit): a regression's defaults (metric rmse, loss mse), the keys
only a regression has, and the target column names."""

from __future__ import annotations

from typing import Any

REGRESSION_ONLY = ("target_columns", "clip")
ORDINAL_ONLY = ("grades", "ordinal_head")


def resolve_targets(competition: Any) -> Any:
    """A regression task scores RMSE unless told otherwise; several targets and clipping are
    regression's alone; `target_columns` are distinct and non-empty (a ValueError otherwise).
    `competition` is a CompetitionConfig (its validator calls this)."""
    c = competition
    if c.task == "regression":
        if "metric" not in c.model_fields_set:
            c.__dict__["metric"] = "rmse"  # not setattr: that would re-run the validator
    else:
        for key in REGRESSION_ONLY:
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
    """A regression's `train.loss` defaults to mse (the schema's default, ce, is a class loss),
    and so does an ordinal task's with a regression head."""
    c = config.competition
    value_head = c.task == "regression" or (c.task == "ordinal" and c.ordinal_head == "regression")
    if value_head and "loss" not in config.train.model_fields_set:
        config.train.__dict__["loss"] = "mse"  # not setattr: no re-validation
