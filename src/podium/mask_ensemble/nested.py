"""The nested-selection CV of the mask ensemble's choice: `podium.ensemble.nested` as it is
where the other folds are at least two (every fitted candidate refitted on them alone, its
post-processing fitted CV-honestly among them).

With two folds the other rows are one fold, on which nothing can be fitted honestly, and a
mask metric cannot score probabilities undecided: the choice for fold k then decides each
candidate's maps of the other fold with a post-processing fitted on that fold itself (the
only rows there are), and reads the candidates' OOF maps (`NestedSelection.refitted` False).
"""

from __future__ import annotations

import numpy as np

from podium.cross_fit import cross_fit
from podium.ensemble.inputs import Inputs
from podium.ensemble.nested import NestedSelection, nested_selection
from podium.ensemble.report import Candidate
from podium.scoring import score_predictions


def mask_nested_selection(inputs: Inputs, cands: list[Candidate]) -> NestedSelection:
    task, y, fold = inputs.task, inputs.y, inputs.fold
    if len(np.unique(fold)) >= 3:
        return nested_selection(inputs, cands)
    decision = task.decision
    assert decision is not None  # the mask post-processing

    def best_on(rows: np.ndarray) -> Candidate:
        def key(c: Candidate) -> tuple[float, float]:
            pred = c.oof[rows]
            decided = decision.apply(pred, decision.fit(y[rows], pred))
            return (-task.metric(y[rows], decided), task.valid_loss(y[rows], pred))

        return min(cands, key=key)

    fitted = cross_fit(
        fold, fit=best_on, apply=lambda best, rows: best.oof[rows], out=np.zeros_like(cands[0].oof)
    )
    block = score_predictions(task, y, fitted.oof, fold)
    picked = {int(k): c.name for k, c in zip(fitted.folds, fitted.params, strict=True)}
    return NestedSelection(task.metric.name, block.score, block.valid_loss, picked, False)
