"""Meta mode's holdout: the meta-model's parameters tuned on some folds' rows and checked,
against the ensemble's own `ensemble.meta.params`, on the other folds' rows.

Every trial's meta CV predicts every row (fold k by meta-models fitted without it); a study
that ranks trials by the score of every row has no row left to check its best on. With
`tune.holdout` (the default), a trial is scored on the rows of the tuned folds (`train.folds`,
default the first half of the folds, since a meta trial costs the same on any number of
folds) and the study ends by scoring the best parameters and the baseline on the rows of the
other folds, pooled and paired as train mode's holdout (`podium.tuning.holdout_score`).
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np
import optuna

from podium.config import Config
from podium.ensemble.meta_cv import MetaCV, meta_cv_predictions
from podium.tuning.decided import decided_score
from podium.tuning.holdout_score import score_holdout

_log = logging.getLogger(__name__)


def meta_folds(cfg: Config) -> tuple[list[int], list[int]]:
    """(tuned, held out) folds of a meta study."""
    n = cfg.folds.n_splits
    tuned = cfg.train.folds if cfg.train.folds is not None else list(range(math.ceil(n / 2)))
    return list(tuned), [k for k in range(n) if k not in tuned]


def tuned_rows_score(cv: MetaCV, folds: list[int]) -> float:
    """A trial's value: its meta CV's rows of the tuned folds, decided CV-honestly."""
    rows = np.isin(cv.fold, folds)
    return decided_score(cv.task, cv.y[rows], cv.oof[rows], cv.fold[rows])


def meta_holdout(cfg: Config, study: optuna.Study) -> dict[str, Any] | None:
    """The best trial's parameters against `ensemble.meta.params` on the held-out folds'
    rows; None when no fold is held out or no trial has completed."""
    tuned, held = meta_folds(cfg)
    try:
        best = study.best_trial
    except ValueError:
        return None
    if not held:
        return None
    _log.info("tune %s: best trial %d on the untuned folds %s", study.study_name, best.number, held)
    best_cv, base_cv = meta_cv_predictions(cfg, best.params), meta_cv_predictions(cfg, {})
    rows = np.isin(best_cv.fold, held)
    scored = score_holdout(
        best_cv.task, best_cv.y[rows], best_cv.fold[rows], best_cv.oof[rows], base_cv.oof[rows]
    )
    return {
        "trial": best.number,
        "tuned_folds": tuned,
        "tuned_value": best.value,
        "holdout_folds": held,
        **scored.to_json(),
    }
