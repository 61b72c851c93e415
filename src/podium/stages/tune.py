"""`podium tune -c configs/<comp>/tune.yaml`: an Optuna study over config keys.

The tune file is an experiment (it `extends:` one) plus a `tune:` section: the search
space, the study's name and storage, and how long this run may go on (`n_trials`,
`timeout`). Each trial trains that experiment with its suggested values on the study's
folds and is pruned when its epochs fall behind (median pruner by default); `mode: meta`
tunes the ensemble's XGBoost meta-model against its meta CV instead.

A study lives in its storage (SQLite `runs/<comp>/optuna.db` by default), so running the
command again adds trials to it, and several `podium tune` processes on one storage work on
one study. Each run ends by writing `runs/<comp>/tune/<study>/{trials.csv, summary.json,
best.yaml}`; `optuna-dashboard <storage>` opens the study live.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import optuna
import pandas as pd
import torch
from optuna.trial import FrozenTrial

from podium.config import Config, ConfigError
from podium.config.ensemble import check_meta_params
from podium.config.tune import TuneConfig
from podium.engine.seeding import derive_seed
from podium.tasks import metric_of
from podium.tuning.holdout import holdout_cv
from podium.tuning.holdout_score import holdout_line
from podium.tuning.meta_holdout import meta_holdout
from podium.tuning.objective import MetaObjective, TrainObjective, trial_base
from podium.tuning.report import trials_table, write_outputs
from podium.tuning.space import check_space, describe
from podium.tuning.study import open_study, storage_target
from podium.units.devices import Job, check_outcomes, run_pool
from podium.units.devices import summary as pool_summary

_log = logging.getLogger(__name__)

FINISHED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)


def run(cfg: Config, mkdir: bool = False) -> optuna.Study:
    """One worker on the study; `mkdir` (`podium tune --mkdir`) lets the storage's folder be
    made outside the runs folder."""
    tune = cfg.section("tune")
    name = tune.study or cfg.name
    metric = metric_of(cfg.competition)
    direction: Literal["maximize", "minimize"] = (
        "maximize" if metric.greater_is_better else "minimize"
    )

    # --- the objective, checked before any trial runs ------------------------------------------
    objective: TrainObjective | MetaObjective
    if tune.mode == "train":
        check_space(trial_base(cfg), tune.space, str(cfg.source), cfg.base_dir)
        objective = TrainObjective(cfg, tune, name)
    else:
        check_meta_space(cfg, tune)
        objective = MetaObjective(cfg, tune)

    # --- the study: created, or resumed by name ----------------------------------------------
    url = storage_target(cfg, tune, mkdir).shown
    study = open_study(cfg, tune, name, direction)
    for params in tune.enqueue:
        study.enqueue_trial(params, skip_if_exists=True)
    already = sum(t.state in FINISHED for t in study.get_trials(deepcopy=False))
    _log.info(
        "tune %s: %s %s (%s mode), %d trials so far in %s\n%s",
        name,
        direction,
        metric.name,
        tune.mode,
        already,
        url,
        describe(tune.space),
    )

    callbacks: list[Callable[[optuna.Study, FrozenTrial], None]] = []
    if tune.max_trials is not None:
        callbacks.append(optuna.study.MaxTrialsCallback(tune.max_trials, states=FINISHED))
    started = time.time()
    if tune.max_trials is not None and already >= tune.max_trials:
        _log.info("tune %s: the study has its %d trials (tune.max_trials)", name, tune.max_trials)
    else:
        _optimize(study, objective, tune, callbacks)

    return _report(cfg, study, name, url, started)


def _optimize(
    study: optuna.Study,
    objective: TrainObjective | MetaObjective,
    tune: TuneConfig,
    callbacks: list[Callable[[optuna.Study, FrozenTrial], None]],
) -> None:
    """Optuna's loop for this worker's `tune.n_trials` (or `tune.timeout`). A trial failed as
    stale while this worker trained it cannot be told its result (Optuna raises); its retry
    takes the result from the run folder, and this worker goes on with its other trials."""
    ran = 0

    def count(study: optuna.Study, trial: FrozenTrial) -> None:
        nonlocal ran
        ran += 1

    started = time.monotonic()
    while True:
        left = None if tune.n_trials is None else tune.n_trials - ran
        timeout = None if tune.timeout is None else tune.timeout - (time.monotonic() - started)
        if (left is not None and left <= 0) or (timeout is not None and timeout <= 0):
            return
        lost = len(objective.failed_under_us) if isinstance(objective, TrainObjective) else 0
        try:
            study.optimize(
                objective,
                n_trials=left,
                timeout=timeout,
                callbacks=[*callbacks, count],
                # a batch size too big for the GPU fails that trial, not the study
                catch=(torch.cuda.OutOfMemoryError,),
                # frees a trained trial's model and tensors; ~1s, pointless for meta trials
                gc_after_trial=tune.mode == "train",
            )
            return
        # Optuna's tell raises "Cannot tell a FAIL trial" (ValueError), which its own loop's
        # `finally` replaces with an AssertionError ("Should not reach"): either, only when
        # the objective saw its trial failed under it, is that trial's end, not the study's
        except (ValueError, AssertionError):
            if not isinstance(objective, TrainObjective) or len(objective.failed_under_us) == lost:
                raise
            ran += 1  # that trial was this worker's


def run_workers(
    cfg: Config, devices: list[str], config_args: list[str], mkdir: bool = False
) -> optuna.Study:
    """`podium tune --devices 0,1`: one `podium tune` worker per device on the study's
    storage, each running `tune.n_trials` with its own sampler seed; then the study's
    report here (the holdout check included, once). SQLite is refused: Optuna advises
    against sharing it between processes. The storage is checked (and its folder made)
    here, before any worker starts."""
    tune = cfg.section("tune")
    name, url = tune.study or cfg.name, storage_target(cfg, tune, mkdir).shown
    if url.startswith("sqlite"):
        raise ConfigError(
            f"{cfg.source}: `podium tune --devices` runs {len(devices)} workers on one study, "
            f"and {url} is SQLite, which Optuna advises against sharing: set tune.storage to a "
            f"journal file (e.g. tune.storage={cfg.comp_dir / 'optuna.journal'}) or an RDB URL"
        )
    # the study made once here: its tables, its direction and base config checked before
    # any worker starts (not raced by N fresh workers, nor refused N times)
    open_study(cfg, tune, name, _direction(cfg))
    started, seed = time.time(), tune.sampler.seed
    jobs = [
        Job(
            f"tune worker {i}",
            ["tune", *config_args, "tune.holdout=false"]
            + ([f"tune.sampler.seed={derive_seed(seed, i)}"] if seed is not None else []),
            cfg.comp_dir / "tune" / name / "logs" / f"worker{i}.log",
        )
        for i in range(len(devices))
    ]
    outcomes = run_pool(jobs, devices, "tune workers")
    print(f"tune {name} over devices {','.join(devices)}:\n{pool_summary(outcomes)}")
    check_outcomes(outcomes, "tune workers")
    study = open_study(cfg, tune, name, _direction(cfg))
    return _report(cfg, study, name, url, started)


def _direction(cfg: Config) -> Literal["maximize", "minimize"]:
    return "maximize" if metric_of(cfg.competition).greater_is_better else "minimize"


def _report(cfg: Config, study: optuna.Study, name: str, url: str, started: float) -> optuna.Study:
    """What the study leaves behind: trials.csv, summary.json, best.yaml, the holdout check."""
    tune = cfg.section("tune")
    out_dir = cfg.comp_dir / "tune" / name
    # the best trial won on the folds it was tuned on: its honest figure is on the others
    holdout = None
    if tune.holdout:
        holdout = holdout_cv(cfg, study, name) if tune.mode == "train" else meta_holdout(cfg, study)
    summary = write_outputs(study, out_dir, tune.mode, f"study {name!r} in {url}", holdout)
    _print_summary(study, summary, out_dir, url, time.time() - started)
    return study


def check_meta_space(cfg: Config, tune: TuneConfig) -> None:
    """Meta mode needs an ensemble config, and its space must leave alone the XGBoost
    arguments the ensemble sets itself (seeds, early stopping, objective)."""
    cfg.section("ensemble")
    try:
        check_meta_params(dict.fromkeys(tune.space))
    except ValueError as e:
        raise ConfigError(f"{cfg.source}: tune.space (mode: meta): {e}") from None


def _print_summary(
    study: optuna.Study, summary: dict, out_dir: Path, url: str, seconds: float
) -> None:
    with pd.option_context("display.max_rows", 200, "display.width", 160):
        print(trials_table(study).to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    counted = ", ".join(f"{n} {state}" for state, n in summary["trials"].items())
    print(f"tune {summary['study']}: {counted} ({seconds:.0f}s this run)")
    if "best_trial" in summary:
        print(
            f"  best trial {summary['best_trial']}: {summary['best_value']:.6g} "
            f"with {summary['best_params']}\n  overlay: {out_dir / 'best.yaml'}"
        )
        if "holdout" in summary:
            h = summary["holdout"]
            print(
                f"  on the folds it was tuned on {h['tuned_folds']}: {h['tuned_value']:.6g} "
                f"(optimistic: the best of {len(study.trials)} trials there)\n  " + holdout_line(h)
            )
    else:
        print("  no trial has completed yet: no best.yaml")
    print(f"  table: {out_dir / 'trials.csv'}\n  dashboard: optuna-dashboard {url}")
