"""The tuned settings' CV on the folds the study did not tune on.

A study picks its best trial on the folds it trains (`train.folds`, fold 0 by default), so
that trial's score is the best of many draws on those rows: optimistic. Training the best
settings on the other folds and scoring them there gives the figure to trust (and to compare
with the untuned baseline on the same folds). Its units live in
`runs/<comp>/tune/<study>/holdout-trialNNNN/` (one folder per best trial, so a new best never
meets another's units) and are stamped like any unit: a re-run with the same best trial trains
nothing, and of several workers finishing together one trains it while the others say so.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import optuna

from podium.artifacts import read_json
from podium.config import Config
from podium.engine.averaging import checkpoint_score
from podium.errors import LockedError
from podium.experiment import Experiment
from podium.tuning.objective import trial_base
from podium.tuning.space import with_params
from podium.units.train import train_units

_log = logging.getLogger(__name__)


def untuned_folds(cfg: Config) -> list[int]:
    tuned = set(trial_base(cfg)["train"]["folds"])
    return [k for k in range(cfg.folds.n_splits) if k not in tuned]


def holdout_cv(cfg: Config, study: optuna.Study, study_name: str) -> dict[str, Any] | None:
    """Train the best trial's settings on the untuned folds; their mean unit score (of the
    checkpoint oof would use), beside the best trial's own value. None when the study tuned
    on every fold or no trial has completed."""
    folds = untuned_folds(cfg)
    try:
        best = study.best_trial
    except ValueError:
        return None
    if not folds:
        return None
    base = trial_base(cfg)
    base["train"]["folds"] = folds
    base["name"] = f"{study_name}-holdout"
    run_cfg = with_params(
        base, best.params, source=f"{cfg.source} (best trial {best.number})", base_dir=cfg.base_dir
    )
    exp = Experiment(run_cfg.nest_run(f"tune/{study_name}/holdout-trial{best.number:04d}"))
    _log.info("tune %s: best trial %d on the untuned folds %s", study_name, best.number, folds)
    try:
        train_units(exp)
    except LockedError as e:  # another worker of the study is training this very holdout
        _log.info("tune %s: %s; its summary.json will hold the holdout CV", study_name, e)
        return None
    scores = {
        f"fold{f}/seed{s}": checkpoint_score(
            read_json(exp.unit_dir(f, s) / "result.json"), cfg.train.checkpoint
        )
        for f, s in exp.units()
    }
    return {
        "trial": best.number,
        "tuned_folds": trial_base(cfg)["train"]["folds"],
        "tuned_value": best.value,
        "holdout_folds": folds,
        "holdout_cv": float(np.mean(list(scores.values()))),
        "units": scores,
    }
