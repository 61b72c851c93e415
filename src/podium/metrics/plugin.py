"""A user's own metric, from a file or an importable module, as a `Metric`.

Every competition is scored on a metric of its own (ISIC 2024: partial AUC above 80% TPR;
HMS: KL divergence; RSNA: weighted log-loss), so `competition.metric` may name a function:

    competition:
      metric: {function: metrics/pauc.py:score, direction: maximize, needs: probabilities}

`function` is `path/to/file.py:name` (relative to the config file on the command line) or
`package.module:name` (importable). The function is called in one of two forms, told apart by
its parameters:

- arrays: `score(y, pred) -> float`, with `y` the task's encoded targets (class indices,
  values, a 0/1 label matrix) and `pred` the task's predictions, columns as in
  `oof.parquet` (class probabilities `p_<class>`, values `pred_<target>`); with
  `needs: decisions`, what the task decided (tags at thresholds, grades at cut-points).
- Kaggle's: `score(solution: DataFrame, submission: DataFrame, row_id_column_name: str)
  -> float`, the form Kaggle publishes each competition's metric in: podium builds the two
  tables from the rows it scores, as `podium submit` would write them (the sample
  submission's columns) and as train.csv holds the targets, so the published file can be
  pasted unchanged.

A function that raises, or returns nan or a non-number, is a one-line error naming the file
and function (`Metric.__call__`). Loading the file runs it: it is the user's code.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from podium.errors import ConfigError
from podium.metrics.base import NEEDS, Metric, Needs

# (y, pred) -> (solution, submission, row id column): a task's tables for Kaggle's form
FramesBuilder = Callable[[np.ndarray, np.ndarray], tuple[Any, Any, str]]
KAGGLE_PARAMETERS = ("solution", "submission", "row_id_column_name")


def split_reference(function: str) -> tuple[str, str]:
    """`file.py:name` or `module:name` -> (where, name); a malformed one is a ConfigError."""
    where, sep, name = function.rpartition(":")
    if not sep or not where or not name.isidentifier():
        raise ConfigError(
            f"competition.metric.function: {function!r} is not 'path/to/file.py:function' "
            "or 'package.module:function'"
        )
    return where, name


def is_file_reference(function: str) -> bool:
    return split_reference(function)[0].endswith(".py")


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _load_callable(function: str, base: Path | None) -> tuple[Callable[..., Any], str]:
    where, name = split_reference(function)
    if where.endswith(".py"):
        path = Path(where) if Path(where).is_absolute() or base is None else base / where
        if not path.is_file():
            raise ConfigError(f"competition.metric.function: {path} not found ({function!r})")
        module_name = f"podium_metric_{file_sha256(path)[:16]}"
        module = sys.modules.get(module_name)
        if module is None:
            spec = importlib.util.spec_from_file_location(module_name, path)
            if spec is None or spec.loader is None:
                raise ConfigError(f"competition.metric.function: cannot load {path}")
            module = importlib.util.module_from_spec(spec)
            try:
                spec.loader.exec_module(module)
            except Exception as e:  # the user's file: named, not a traceback
                raise ConfigError(
                    f"competition.metric.function: importing {path} raised {type(e).__name__}: {e}"
                ) from None
            sys.modules[module_name] = module
        source = f"{path}:{name}"
    else:
        try:
            module = importlib.import_module(where)
        except Exception as e:
            raise ConfigError(
                f"competition.metric.function: cannot import {where!r} ({type(e).__name__}: {e})"
            ) from None
        source = function
    fn = getattr(module, name, None)
    if not callable(fn):
        raise ConfigError(f"competition.metric.function: {source} is not a function")
    return fn, source


def is_kaggle_form(fn: Callable[..., Any]) -> bool:
    """Does `fn` take Kaggle's (solution, submission, row_id_column_name)?"""
    try:
        params = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return False
    return tuple(params[:3]) == KAGGLE_PARAMETERS


def load_metric(
    function: str,
    greater_is_better: bool,
    needs: Needs,
    name: str | None = None,
    base: Path | None = None,
    frames: FramesBuilder | None = None,
    kwargs: dict[str, Any] | None = None,
) -> Metric:
    """The plug-in metric `function` (see the module docstring). `base`: the folder a file
    path is relative to; `frames`: the task's builder of Kaggle's tables (None where the task
    has none: Kaggle's form is then refused); `kwargs`: extra keyword arguments for it."""
    if needs not in NEEDS:
        raise ConfigError(f"competition.metric.needs: {needs!r}; expected one of {list(NEEDS)}")
    fn, source = _load_callable(function, base)
    extra = dict(kwargs or {})
    if is_kaggle_form(fn):
        if frames is None:
            raise ConfigError(
                f"competition.metric.function: {source} takes Kaggle's (solution, submission, "
                "row_id_column_name), which this task cannot build; take (y, pred) instead"
            )
        builder = frames

        def score(y: np.ndarray, pred: np.ndarray) -> float:
            solution, submission, id_column = builder(y, pred)
            return fn(solution, submission, id_column, **extra)

    else:

        def score(y: np.ndarray, pred: np.ndarray) -> float:
            return fn(y, pred, **extra)

    return Metric(
        name or split_reference(function)[1], score, greater_is_better, needs, None, source
    )
