"""What one trial does and scores.

`TrainObjective` trains the base experiment with the trial's parameters through the shared
training core (`podium.units.train`, a segmentation's mask units too: `podium.tuning.trained`),
on the chosen folds (`train.folds`, default fold 0) x seeds, each trial in its own run folder
`runs/<comp>/tune/<study>/trialNNNN/`. Every epoch's validation score is reported to Optuna
at a step that keeps growing across folds (unit * epochs + epoch), so fold 1's epoch 1 is
never compared with fold 0's (optuna #4373); with the Wilcoxon pruner a trial reports once
per fold instead. The value is the competition metric of the checkpoint
that oof would use (`train.checkpoint`: best or last epoch), averaged over the units; where
the task decides (ordinal cut-points, multilabel thresholds) it is the metric of the trial's
validation rows decided CV-honestly instead (`podium.tuning.decided`), not the rounded one.

`MetaObjective` scores XGBoost meta-model parameters with the ensemble's meta CV: on the
rows of the tuned folds where the study holds the others out (`podium.tuning.meta_holdout`).
"""

from __future__ import annotations

import logging
import math
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.trial import TrialState

from podium.artifacts import read_json
from podium.config import Config
from podium.config.tune import TuneConfig, WilcoxonPrunerConfig
from podium.engine.averaging import checkpoint_score
from podium.ensemble.meta_cv import meta_cv_predictions, meta_cv_score
from podium.experiment import Experiment
from podium.tasks import metric_of
from podium.tuning.decided import decided_trial_value
from podium.tuning.meta_holdout import meta_folds, tuned_rows_score
from podium.tuning.space import suggest, with_params
from podium.tuning.trained import epoch_key, train_run

RUN_ATTR = "run_name"  # user attr; a retried trial inherits it and resumes in the same folder

_log = logging.getLogger(__name__)


def trial_base(cfg: Config) -> dict[str, Any]:
    """The config every trial starts from: the tune file less its tune section, on the
    study's folds (fold 0 unless `train.folds` names others)."""
    d = cfg.resolved()
    d["tune"] = None
    d["train"]["folds"] = cfg.train.folds if cfg.train.folds is not None else [0]
    return d


@dataclass
class TrainObjective:
    """One trial: train its units, return its value. A retry of a stale trial trains in the
    stale trial's folder; where the first worker still lives (its heartbeats came late: an
    overloaded or paused machine, not a dead one), the retry waits for its unit locks and
    takes the finished units instead of refusing. `failed_under_us` lists the trials that
    were failed as stale while this worker trained them: Optuna refuses their results, and
    the tune stage goes on with the next trial (`podium.stages.tune`)."""

    cfg: Config
    tune: TuneConfig
    study_name: str
    failed_under_us: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.base = trial_base(self.cfg)
        self.metric = metric_of(self.cfg.competition)
        self.per_fold = isinstance(self.tune.pruner, WilcoxonPrunerConfig)

    def trial_config(self, trial: optuna.Trial, params: dict[str, Any]) -> Config:
        run_name = trial.user_attrs.get(RUN_ATTR)
        if run_name is None:
            run_name = f"tune/{self.study_name}/trial{trial.number:04d}"
            trial.set_user_attr(RUN_ATTR, run_name)
            stale = self.cfg.comp_dir / run_name
            if stale.exists():  # left by a deleted study of the same name: not this trial's
                shutil.rmtree(stale)
        # the name is one folder name (`<study>-trialNNNN`); the run sits in tune/<study>/
        base = dict(self.base, name=f"{self.study_name}-{Path(run_name).name}")
        cfg = with_params(
            base,
            params,
            source=f"{self.cfg.source} (trial {trial.number})",
            base_dir=self.cfg.base_dir,
        )
        return cfg.nest_run(run_name)

    def __call__(self, trial: optuna.Trial) -> float:
        params = suggest(trial, self.tune.space)
        exp = Experiment(self.trial_config(trial, params))
        epochs = exp.cfg.train.epochs
        scores: list[float] = []
        try:
            for i, (fold, seed) in enumerate(exp.units()):
                hook = None if self.per_fold else self._reporter(trial, i * epochs, epoch_key(exp))
                train_run(exp, fold=fold, seed=seed, on_epoch_end=hook, lock_wait=math.inf)
                scores.append(self._unit_score(exp.unit_dir(fold, seed)))
                if self.per_fold:
                    self._report(trial, scores[-1], step=i, where=f"fold {fold}")
            if exp.task.decision is not None:  # before the checkpoints go: they predict
                value = decided_trial_value(exp, sorted({f for f, _ in exp.units()}))
                trial.set_user_attr("undecided_value", float(np.mean(scores)))
                return value
        finally:
            self._note_if_failed_meanwhile(trial, exp)
            if trial.number not in self.failed_under_us:
                trial.set_user_attr("unit_scores", scores)
            if not self.tune.keep_checkpoints:
                for pt in exp.run_dir.glob("fold*/seed*/*.pt"):
                    pt.unlink()
        return float(np.mean(scores))

    def _note_if_failed_meanwhile(self, trial: optuna.Trial, exp: Experiment) -> None:
        failed = trial.study.get_trials(deepcopy=False, states=(TrialState.FAIL,))
        if any(t.number == trial.number for t in failed):
            self.failed_under_us.append(trial.number)
            _log.warning(
                "trial %d was failed as stale while this worker trained it (its heartbeats "
                "came late: an overloaded or paused machine); its retry takes the finished "
                "units from %s",
                trial.number,
                exp.run_dir,
            )

    def _unit_score(self, unit_dir: Path) -> float:
        result = read_json(unit_dir / "result.json")
        return checkpoint_score(result, self.cfg.train.checkpoint)

    def _reporter(
        self, trial: optuna.Trial, step0: int, key: str
    ) -> Callable[[int, dict[str, float]], None]:
        def on_epoch_end(epoch: int, row: dict[str, float]) -> None:
            self._report(trial, row[key], step=step0 + epoch, where=f"epoch {epoch + 1}")

        return on_epoch_end

    def _report(self, trial: optuna.Trial, value: float, step: int, where: str) -> None:
        trial.report(value, step=step)
        trial.set_user_attr("steps_run", step + 1)
        if trial.should_prune():
            raise optuna.TrialPruned(f"{self.metric.name} {value:.4f} at {where}")


@dataclass
class MetaObjective:
    """The ensemble's meta CV (same folds as its members) for one set of XGBoost params: of
    every row, or (`tune.holdout`) of the tuned folds' rows."""

    cfg: Config
    tune: TuneConfig

    def __call__(self, trial: optuna.Trial) -> float:
        params = suggest(trial, self.tune.space)
        if not self.tune.holdout:
            return float(meta_cv_score(self.cfg, params))
        tuned, _ = meta_folds(self.cfg)
        return float(tuned_rows_score(meta_cv_predictions(self.cfg, params), tuned))
