"""The one metric record: a name, a function of (targets, predictions), its direction and
what it reads. Every task's registry, the validation loss and a user's plug-in metric are
`Metric`s, so the engine, oof, the ensemble, tune and `podium score` all call them the same
way: `metric(y, pred) -> float`.

`needs` says what `pred` must hold for the score to mean anything:

    probabilities  continuous scores (class or label probabilities): log-loss, AUC, a
                   partial AUC. A submission of labels cannot be scored by it.
    decisions      what the submission decides (a class, tags at thresholds, a grade): the
                   function may receive probabilities and decide itself (accuracy argmaxes)
                   or receive the task's decided predictions (`podium.tasks.decisions`).
    values         numbers on the target's scale (regression): RMSE, R², ...

`per_row` gives the per-row terms whose mean is the metric, where it is one (accuracy,
log-loss, MAE): a bootstrap then resamples a vector instead of rescoring the whole array.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from podium.errors import ConfigError

Needs = Literal["probabilities", "decisions", "values"]
NEEDS: tuple[Needs, ...] = ("probabilities", "decisions", "values")


def _values(pred: np.ndarray) -> np.ndarray:
    """Predictions as float64; masks of images of several sizes (an object array of one mask
    per image) as they are."""
    a = np.asarray(pred)
    return a if a.dtype == object else np.asarray(a, dtype=np.float64)


@dataclass(frozen=True)
class Metric:
    """A scoring function and how to read its numbers."""

    name: str
    fn: Callable[[np.ndarray, np.ndarray], float]
    greater_is_better: bool
    needs: Needs
    per_row: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None
    # a plug-in metric's `file.py:function` or `module:function`, for messages; None built in
    source: str | None = None

    @property
    def needs_probabilities(self) -> bool:
        return self.needs == "probabilities"

    @property
    def direction(self) -> str:
        return "maximize" if self.greater_is_better else "minimize"

    def __call__(self, y: np.ndarray, pred: np.ndarray) -> float:
        if self.source is None:
            return float(self.fn(np.asarray(y), _values(pred)))
        try:
            value = self.fn(np.asarray(y), _values(pred))
        except ConfigError:
            raise
        except Exception as e:  # the user's code: its failure is named, not a traceback
            raise ConfigError(
                f"competition.metric: {self.source} raised {type(e).__name__}: {e} "
                f"(metric {self.name!r}, {len(y)} rows)"
            ) from None
        return _checked(value, self.name, self.source)

    def better(self, a: float, b: float | None) -> bool:
        """Is score `a` an improvement over `b` (None or nan = no score yet)?"""
        if b is None or not np.isfinite(b):
            return True
        return a > b if self.greater_is_better else a < b

    @property
    def worst(self) -> float:
        return -math.inf if self.greater_is_better else math.inf

    def signed(self, a: float, b: float) -> float:
        """a - b, signed so that a positive number means `a` is the better score."""
        return a - b if self.greater_is_better else b - a


def _checked(value: object, name: str, source: str) -> float:
    """A plug-in metric's result as a float: a non-number or nan is the user's bug, named."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ConfigError(
            f"competition.metric: {source} returned {type(value).__name__} {value!r}, not a "
            f"number (metric {name!r})"
        ) from None
    if math.isnan(number):
        raise ConfigError(
            f"competition.metric: {source} returned nan (metric {name!r}); return a number "
            "for every set of rows podium scores (a fold, a bootstrap resample)"
        )
    return number


def registry(*metrics: Metric) -> dict[str, Metric]:
    """A task's metrics by name (the names `competition.metric` takes)."""
    return {m.name: m for m in metrics}
