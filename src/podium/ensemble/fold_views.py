"""How the ensemble's fitted candidates meet the test rows: fold by fold.

Blend weights and meta-models are fitted on OOF rows, each predicted by one fold's models.
A member's `test.parquet` is the mean of all its folds' models, a smoother prediction than
any OOF row (a small ensemble of its own), so weights and trees fitted on OOF rows would
meet inputs of another kind there: the meta-model's row statistics (entropy, max p) shift,
and a member whose folds disagree gets its weight for its single-model OOF. So a candidate is
applied to each fold's models' test predictions (`test_by_fold.parquet`: the same kind of
prediction as the OOF rows) and the K results are averaged. Where a member has no per-fold
predictions, or the members' folds differ, every candidate meets the fold-averaged test
predictions instead, and the report says which.

The K views are stacked along the rows (view-major: fold k's rows are `k*N .. (k+1)*N`), so
the blends, the level-2 features and the meta-models, all row by row, take them unchanged;
`FoldViews.mean` averages the candidate's output over the views. `podium ensemble` and
`podium predict` (a bundle) both build the views here, so they compute the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PER_FOLD = "per_fold"
FOLD_AVERAGED = "fold_averaged"


@dataclass(frozen=True)
class FoldViews:
    tests: list[np.ndarray]  # per member: (n_views * N_test, C), view-major
    kind: str  # PER_FOLD or FOLD_AVERAGED
    folds: list[int]  # the views' folds (PER_FOLD), else []

    @property
    def n_views(self) -> int:
        return max(len(self.folds), 1)

    def mean(self, pred: np.ndarray) -> np.ndarray:
        """A candidate's output on the stacked views, (n_views * N, ...) -> (N, ...)."""
        out: np.ndarray = pred.reshape(self.n_views, -1, *pred.shape[1:]).mean(axis=0)
        return out

    def tile(self, rows: np.ndarray) -> np.ndarray:
        """Per-test-row inputs that are the same in every view (metadata columns), stacked
        like the views."""
        return np.concatenate([rows] * self.n_views) if self.n_views > 1 else rows

    @property
    def how(self) -> str:
        """What the report and scores.json say of how the test rows were predicted."""
        if self.kind == PER_FOLD:
            return (
                f"applied to each fold's models' test predictions ({self.n_views} folds, the "
                "kind of prediction the OOF rows are), then averaged over the folds"
            )
        return "applied to the fold-averaged test predictions"


def fold_views(
    by_fold: list[dict[int, np.ndarray] | None], averaged: list[np.ndarray], per_fold: bool = True
) -> FoldViews:
    """The members' test views: their per-fold predictions (`by_fold`, one dict per member)
    when `per_fold` and every member has them for the same two or more folds, else their
    fold-averaged predictions (`averaged`) as one view."""
    keys = [None if b is None else sorted(b) for b in by_fold]
    if (
        per_fold
        and keys
        and keys[0] is not None
        and len(keys[0]) > 1
        and all(k == keys[0] for k in keys)
    ):
        folds = keys[0]
        stacked = [np.concatenate([b[k] for k in folds]) for b in by_fold if b is not None]
        return FoldViews(stacked, PER_FOLD, folds)
    return FoldViews(list(averaged), FOLD_AVERAGED, [])
