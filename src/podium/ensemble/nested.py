"""The nested-selection CV of the ensemble's choice: how much choosing the best of several
candidates on the same OOF rows flatters the chosen CV, measured by choosing without fold k
for every fold k, with every candidate refitted without it.

Fold k's rows are predicted by the candidate that scores best on the *other* folds' rows. For
that choice to never see fold k, each fitted candidate is refitted on those rows alone
(`Candidate.refit`): a blend's weights and the stack's meta-models for each other fold j are
fitted on the folds that are neither j nor k, and the task's decision (cut-points, per-label
thresholds) is fitted CV-honestly among those folds too (`score_predictions`). The criterion
is the real choice's (`rank_key`): the decided metric, then the validation loss. The chosen
candidate then predicts fold k as in the ensemble: with what it fitted on every fold but k.

With two folds the other rows are a single fold and nothing can be fitted honestly on it:
the candidates' own OOF rows then (fitted with fold k for the fitted ones) and the plain
metric; `NestedSelection.refitted` says which.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from podium.cross_fit import cross_fit
from podium.ensemble.inputs import Inputs
from podium.ensemble.report import Candidate
from podium.scoring import score_predictions


@dataclass(frozen=True)
class NestedSelection:
    """The honest CV of "pick the best candidate" as a procedure."""

    metric: str
    score: float
    valid_loss: float
    picked_by_fold: dict[int, str]
    # were the fitted candidates refitted without each outer fold (False: two folds)?
    refitted: bool = True

    def to_json(self) -> dict[str, Any]:
        return {
            self.metric: self.score,
            "valid_loss": self.valid_loss,
            "picked_by_fold": {str(k): v for k, v in self.picked_by_fold.items()},
            "refitted": self.refitted,
        }

    def describe(self) -> str:
        """How the report says what was refitted."""
        if self.refitted:
            return (
                "every fitted candidate refitted without fold k: blend weights, meta-models "
                "and the decision fitted on the other folds alone"
            )
        return (
            "two folds: the fitted candidates' OOF rows of the other fold come from fits "
            "that saw fold k (nothing can be refitted on one fold)"
        )


def candidate_rows(c: Candidate, rows: np.ndarray, refit: bool) -> np.ndarray:
    """Candidate c's predictions of `rows` (a mask) as a choice without the other rows sees
    them: refitted on those rows alone where it fits anything (and `refit`), else its OOF."""
    pred: np.ndarray = c.refit(rows) if refit and c.refit is not None else c.oof[rows]
    return pred


def nested_selection(inputs: Inputs, cands: list[Candidate]) -> NestedSelection:
    """Fold k predicted by the candidate that is best on the other folds, each candidate
    refitted on those folds alone (see the module's docstring)."""
    task, y, fold = inputs.task, inputs.y, inputs.fold
    greater = task.metric.greater_is_better
    refit = len(np.unique(fold)) >= 3  # the other folds are at least two

    def best_on(rows: np.ndarray) -> Candidate:
        def key(c: Candidate) -> tuple[float, float]:
            pred = candidate_rows(c, rows, refit)
            block = score_predictions(task, y[rows], pred, fold[rows])
            return (-block.score if greater else block.score, block.valid_loss)

        return min(cands, key=key)

    fitted = cross_fit(
        fold,
        fit=best_on,
        apply=lambda best, rows: best.oof[rows],
        out=np.zeros_like(cands[0].oof),
    )
    block = score_predictions(task, y, fitted.oof, fold)
    picked = {int(k): c.name for k, c in zip(fitted.folds, fitted.params, strict=True)}
    return NestedSelection(task.metric.name, block.score, block.valid_loss, picked, refit)
