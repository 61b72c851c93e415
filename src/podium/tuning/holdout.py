"""The tuned settings and the untuned baseline, trained on the folds the study did not tune on.

A study picks its best trial on the folds it trains (`train.folds`, fold 0 by default), so
that trial's score is the best of many draws on those rows: optimistic. The best settings and
the config's own settings (the baseline, which no trial need be) are both trained on the other
folds, and scored there pooled and paired (`podium.tuning.holdout_score`): the figure to trust
is the gain over the baseline on rows neither was chosen on. Their units live in
`runs/<comp>/tune/<study>/holdout-trialNNNN/` (one folder per best trial, so a new best never
meets another's units) and `holdout-baseline/`, stamped like any unit: a re-run with the same
best trial trains nothing, and of several workers finishing together one trains them while
the others say so.
"""

from __future__ import annotations

import logging
from typing import Any

import optuna

from podium.artifacts import read_json
from podium.config import Config
from podium.engine.averaging import checkpoint_score
from podium.errors import LockedError
from podium.experiment import Experiment
from podium.tuning.holdout_score import score_holdout
from podium.tuning.objective import trial_base
from podium.tuning.space import with_params
from podium.tuning.trained import train_run, validation

_log = logging.getLogger(__name__)


def untuned_folds(cfg: Config) -> list[int]:
    tuned = set(trial_base(cfg)["train"]["folds"])
    return [k for k in range(cfg.folds.n_splits) if k not in tuned]


def holdout_cv(cfg: Config, study: optuna.Study, study_name: str) -> dict[str, Any] | None:
    """Train the best trial's settings and the baseline on the untuned folds, and score both
    there (pooled, decided, paired); each unit's own score (of the checkpoint oof would use)
    beside. None when the study tuned on every fold or no trial has completed."""
    folds = untuned_folds(cfg)
    try:
        best = study.best_trial
    except ValueError:
        return None
    if not folds:
        return None
    base = trial_base(cfg)
    tuned_folds = base["train"]["folds"]
    base["train"]["folds"] = folds
    runs = {
        "tuned": (f"holdout-trial{best.number:04d}", best.params, f"best trial {best.number}"),
        "baseline": ("holdout-baseline", {}, "untuned baseline"),
    }
    exps = {}
    for role, (folder, params, what) in runs.items():
        run_cfg = with_params(
            dict(base, name=f"{study_name}-{folder}"),
            params,
            source=f"{cfg.source} ({what})",
            base_dir=cfg.base_dir,
        )
        exps[role] = Experiment(run_cfg.nest_run(f"tune/{study_name}/{folder}"))
        _log.info("tune %s: the %s on the untuned folds %s", study_name, what, folds)
        try:
            train_run(exps[role])
        except LockedError as e:  # another worker of the study is training this very holdout
            _log.info("tune %s: %s; its summary.json will hold the holdout CV", study_name, e)
            return None
    tuned, baseline = exps["tuned"], exps["baseline"]
    y, tuned_pred, fold = validation(tuned, folds)
    _, baseline_pred, _ = validation(baseline, folds)
    scored = score_holdout(tuned.task, y, fold, tuned_pred, baseline_pred)
    return {
        "trial": best.number,
        "tuned_folds": tuned_folds,
        "tuned_value": best.value,
        "holdout_folds": folds,
        **scored.to_json(),
        "units": _unit_scores(tuned, cfg.train.checkpoint),
        "baseline_units": _unit_scores(baseline, cfg.train.checkpoint),
    }


def _unit_scores(exp: Experiment, checkpoint: str) -> dict[str, float]:
    return {
        f"fold{f}/seed{s}": checkpoint_score(
            read_json(exp.unit_dir(f, s) / "result.json"), checkpoint
        )
        for f, s in exp.units()
    }
