"""Which epoch's weights become `best.pt`: the competition metric first, validation loss on ties.

A ranking metric saturates on a small fold (AUC 1.0 on 28 rows at epoch 2), and then every
later epoch only ties it; keeping the first epoch to reach the ceiling kept weights whose OOF
AUC was 0.90 against 0.998 for the last epoch. Ties (within 1e-12) therefore go to the lower
validation loss, which keeps improving after the metric stops moving.
"""

from __future__ import annotations

import math
from typing import TypeGuard

TIE = 1e-12


def _finite(value: float | None) -> TypeGuard[float]:
    return value is not None and math.isfinite(value)


def is_improvement(
    score: float,
    loss: float | None,
    best_score: float | None,
    best_loss: float | None,
    greater_is_better: bool,
) -> bool:
    """Should the epoch with (`score`, `loss`) replace the best so far (`best_score`,
    `best_loss`)? Yes if there is no finite best score yet; else if the score is strictly
    better (by more than 1e-12); else, on an equal score (within 1e-12), if its loss is lower
    (an unknown best loss, None or nan, counts as higher than any finite loss). A nan score
    never improves on a finite best."""
    if not _finite(best_score):
        return True
    if not _finite(score):
        return False
    gain = score - best_score if greater_is_better else best_score - score
    if gain > TIE:
        return True
    if gain < -TIE or not _finite(loss):
        return False
    return not _finite(best_loss) or loss < best_loss
