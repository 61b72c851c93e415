"""Opening a study: on its storage (SQLite by default, any RDB URL, or a journal file;
checked and opened by `podium.tuning.storage`), with the seeded sampler and the pruner named
in the `tune:` section, and the checks that keep one study's trials comparable (same
direction, same base config).

Why several storages: Optuna advises against sharing one SQLite file between processes
(it locks the whole file); a journal file is the safe choice for several workers on one
host, and PostgreSQL/MySQL for workers on several machines.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Literal

import optuna
from optuna.exceptions import ExperimentalWarning

from podium.config import Config, ConfigError
from podium.config.tune import (
    HalvingPrunerConfig,
    HyperbandPrunerConfig,
    MedianPrunerConfig,
    RandomSamplerConfig,
    TPESamplerConfig,
    TuneConfig,
    WilcoxonPrunerConfig,
)
from podium.engine.seeding import derive_seed
from podium.fingerprint import fingerprint
from podium.tasks import metric_of, task_type
from podium.tuning.storage import (
    StorageTarget,
    open_storage,
    parse_storage,
    prepare_folder,
)

FINGERPRINT_ATTR = "podium_base_config"
# tasks whose trial value is the metric of decisions fitted CV-honestly (cut-points,
# thresholds: `podium.tuning.decided`); a study made before that held the rounded metric
DECIDING_TASKS = ("ordinal", "multilabel")


def storage_url(cfg: Config, tune: TuneConfig) -> str:
    """The storage as the user would pass it to optuna-dashboard."""
    return tune.storage or f"sqlite:///{cfg.comp_dir / 'optuna.db'}"


def storage_target(cfg: Config, tune: TuneConfig, mkdir: bool = False) -> StorageTarget:
    """The study's storage, checked, with its file's folder made where that is allowed
    (inside the runs folder, or anywhere with `podium tune --mkdir`). Raises ConfigError."""
    where = str(cfg.source)
    target = parse_storage(storage_url(cfg, tune), where)
    prepare_folder(target, Path(cfg.paths.runs), mkdir, where)
    return target


def build_sampler(tune: TuneConfig, offset: int) -> optuna.samplers.BaseSampler:
    """The seed is derived from `tune.sampler.seed` and `offset` (the trials already in the
    study), so a resumed run does not replay the first run's start-up draws. Workers started
    at the same moment see the same offset: give each its own `tune.sampler.seed` (or null)."""
    sc = tune.sampler
    seed = None if sc.seed is None else derive_seed(sc.seed, offset)
    if isinstance(sc, RandomSamplerConfig):
        return optuna.samplers.RandomSampler(seed=seed)
    assert isinstance(sc, TPESamplerConfig)
    group = sc.group if sc.group is not None else (tune.has_conditions and sc.multivariate)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)
        return optuna.samplers.TPESampler(
            seed=seed,
            n_startup_trials=sc.n_startup_trials,
            multivariate=sc.multivariate,
            group=group,
            constant_liar=sc.constant_liar,
        )


_PRUNERS: dict[type, type[optuna.pruners.BasePruner]] = {
    MedianPrunerConfig: optuna.pruners.MedianPruner,
    HalvingPrunerConfig: optuna.pruners.SuccessiveHalvingPruner,
    HyperbandPrunerConfig: optuna.pruners.HyperbandPruner,
    WilcoxonPrunerConfig: optuna.pruners.WilcoxonPruner,
}


def build_pruner(tune: TuneConfig) -> optuna.pruners.BasePruner:
    pc = tune.pruner
    cls = _PRUNERS.get(type(pc))
    if cls is None:  # name: none
        return optuna.pruners.NopPruner()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)  # WilcoxonPruner
        return cls(**pc.model_dump(exclude={"name"}))


def base_fingerprint(cfg: Config) -> str:
    """What must not change between the runs (and workers) of one study: the config every
    trial starts from, less the tune section, paths, name, trackers and progress display."""
    d = cfg.resolved()
    for k in ("tune", "paths", "name", "track"):
        d.pop(k, None)
    d["train"].pop("progress", None)
    task = task_type(cfg.competition).name
    if task in DECIDING_TASKS and metric_of(cfg.competition).needs == "decisions":
        # what a trial's value is: an older study's rounded values would not compare
        d["trial_value"] = "decided CV-honestly"
    return fingerprint(d)


def open_study(
    cfg: Config,
    tune: TuneConfig,
    name: str,
    direction: Literal["minimize", "maximize"],
    mkdir: bool = False,
) -> optuna.Study:
    """Create the study, or resume it by name, with this run's sampler and pruner."""
    target = storage_target(cfg, tune, mkdir)
    url = target.shown
    storage = open_storage(target, tune.heartbeat, str(cfg.source))
    study = optuna.create_study(
        storage=storage, study_name=name, direction=direction, load_if_exists=True
    )
    if study.direction.name.lower() != direction:
        raise ConfigError(
            f"{cfg.source}: study {name!r} in {url} was created to {study.direction.name.lower()}, "
            f"but metric {metric_of(cfg.competition).name!r} needs {direction}; use another "
            "tune.study"
        )
    fingerprint = base_fingerprint(cfg)
    recorded = study.user_attrs.get(FINGERPRINT_ATTR)
    if recorded is None:
        study.set_user_attr(FINGERPRINT_ATTR, fingerprint)
    elif recorded != fingerprint:
        raise ConfigError(
            f"{cfg.source}: study {name!r} in {url} holds trials of another base config "
            f"({recorded}, now {fingerprint}): its scores would not compare; "
            "use another tune.study name, or restore the settings it was made with (an "
            "ordinal or multilabel study made before trial values were decided CV-honestly "
            "holds rounded values: start a new study)"
        )
    return optuna.load_study(
        study_name=name,
        storage=storage,
        sampler=build_sampler(tune, offset=len(study.trials)),
        pruner=build_pruner(tune),
    )
