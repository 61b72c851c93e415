"""Training an experiment's units: every fold x seed (seed averaging), or one unit, each on
its fold's training rows (plus extra rows such as fold-matched pseudo-labels), validated on
its fold. Used by `podium train`, the pseudo-label student and every tune trial.

Freshness: a unit is finished when its `result.json` holds the fingerprint of what it was
trained from (`podium.units.stamps`). A unit made from other inputs is refused, naming what
changed, until `--force` retrains it (nothing finished is ever thrown away silently). Each
unit trains under its own lock, so parallel `--fold K` processes work and two processes never
train the same unit.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from podium import progress
from podium.artifacts import read_json, write_json
from podium.config import Config, save_resolved
from podium.data.metadata import fit_stats
from podium.engine import distributed
from podium.engine.trainer import EpochHook, TrainRows, ValidRows, fit
from podium.errors import ArtifactError
from podium.experiment import Experiment
from podium.fingerprint import Stamp, changed_keys, fingerprint
from podium.locks import exclusive, is_locked
from podium.tracking import track_unit_result, unit_tracking
from podium.units.external import External, concat_rows
from podium.units.stamps import UNTRAINED_KEYS, training_config, unit_stamp

if TYPE_CHECKING:  # a type only: the distiller is built by the stage
    from podium.units.distill import Distiller

_log = logging.getLogger(__name__)

ExtraRows = Callable[[int], TrainRows | None]


def fold_rows(exp: Experiment, fold: int) -> tuple[TrainRows, ValidRows]:
    """The labelled rows of the other folds for training, fold `fold` for validation; with
    metadata, its standardisation is fitted on the training rows alone. With studies of
    several series (`data.slices.series`) every series is a row (validated per series)."""
    y = exp.comp.targets
    is_valid = exp.fold_of_row == fold
    images = exp.train_images
    if exp.train_studies is not None:  # one row per series, each with its study's label
        y, is_valid = y[exp.train_studies.study], is_valid[exp.train_studies.study]
    train = TrainRows(images[~is_valid], exp.task.training_targets(y[~is_valid]))
    valid = ValidRows(
        images[is_valid], exp.task.validation_targets(y[is_valid], exp.cfg.data.image_size)
    )
    meta, layout = exp.train_metadata, exp.metadata_layout
    if meta is not None and layout is not None:
        train.metadata, valid.metadata = meta[~is_valid], meta[is_valid]
        train.metadata_stats = fit_stats(layout, meta[~is_valid])
    return train, valid


def unit_lock(exp: Experiment, fold: int, seed: int) -> Path:
    """Where unit (fold, seed)'s lock lives: beside the units, not among its artifacts."""
    return exp.run_dir / ".locks" / f"fold{fold}-seed{seed}.lock"


def unit_started(exp: Experiment, fold: int, seed: int) -> bool:
    """Trained, begun (it would resume), or training in another process right now."""
    unit = exp.unit_dir(fold, seed)
    return (
        (unit / "result.json").exists()
        or (unit / "last.pt").exists()
        or is_locked(unit_lock(exp, fold, seed))
    )


def prepare(exp: Experiment, start_over: bool = False) -> None:
    """Create (or check) the run folder. Writing another training config over a run whose
    units exist (finished, started or training now) is refused: a new name, or `--force` on
    the whole run (`start_over`), which removes the units (and only them) first."""
    cfg, run_dir = exp.cfg, exp.run_dir
    config_fp = fingerprint(training_config(cfg))
    # parallel units (--devices, --fold K processes) enter together: a short wait, not a refusal
    with exclusive(run_dir / ".locks" / "run.lock", f"the run folder {run_dir}", wait=60):
        meta = run_dir / "run.json"
        recorded = read_json(meta).get("config_hash") if meta.exists() else None
        if start_over:
            for unit in run_dir.glob("fold*/seed*"):
                f, s = (
                    int(unit.parent.name.removeprefix("fold")),
                    int(unit.name.removeprefix("seed")),
                )
                with exclusive(unit_lock(exp, f, s), f"unit fold {f} seed {s} of {cfg.name}"):
                    shutil.rmtree(unit)
        elif recorded not in (None, config_fp):
            started = [
                (f, s)
                for f in range(cfg.folds.n_splits)
                for s in sorted({*cfg.train.seeds, *_seeds_on_disk(exp, f)})
                if unit_started(exp, f, s)
            ]
            if started:
                raise ArtifactError(
                    f"{run_dir} holds units {started} trained under another config "
                    f"({_what_changed(cfg, run_dir / 'config.yaml')}); use a new experiment "
                    "name, or --force to retrain them"
                )
        save_resolved(cfg, run_dir / "config.yaml")
        write_json(
            meta,
            {
                "kind": cfg.kind.name,
                "folds_hash": exp.folds_hash,
                "config_hash": config_fp,
                "columns": exp.task.columns,
            },
        )


def _what_changed(cfg: Config, recorded: Path) -> str:
    """Which training keys differ from the run's config.yaml (a plug-in metric's file: its
    `competition.metric.sha256`), as a few dotted keys."""
    try:
        old = yaml.safe_load(recorded.read_text()) or {}
    except (OSError, yaml.YAMLError):
        return f"see its {recorded.name}"
    new, sections = cfg.resolved(), list(training_config(cfg))
    ignored = {f"train.{k}" for k in UNTRAINED_KEYS} | {"model.grad_checkpointing"}
    keys = [
        k
        for k in changed_keys({s: old.get(s) for s in sections}, {s: new.get(s) for s in sections})
        if not any(k == i or k.startswith(f"{i}.") for i in ignored)
    ]
    if not keys:
        return f"see its {recorded.name}"
    shown = ", ".join(keys[:3]) + (f" and {len(keys) - 3} more" if len(keys) > 3 else "")
    return f"{shown} {'differs' if len(keys) == 1 else 'differ'} from its {recorded.name}"


def _seeds_on_disk(exp: Experiment, fold: int) -> list[int]:
    return [int(p.name.removeprefix("seed")) for p in exp.run_dir.glob(f"fold{fold}/seed*")]


def train_units(
    exp: Experiment,
    force: bool = False,
    fold: int | None = None,
    seed: int | None = None,
    extra_rows: ExtraRows | None = None,
    extra_fingerprint: str | None = None,
    on_epoch_end: EpochHook | None = None,
    distiller: Distiller | None = None,
    lock_wait: float = 0.0,
) -> dict[tuple[int, int], dict]:
    """Train the units; `extra_rows(fold)` adds rows (pseudo-labels) to a fold's training set
    only, never to its validation set; a `distiller` adds its teacher's soft targets (and its
    fold-k units to each unit's fingerprint). `force` retrains the units it covers (only
    those). A unit another process is training is refused at once, or (`lock_wait` seconds)
    waited for and then found finished (a tune retry whose first worker still lives)."""
    if fold is not None and fold not in range(exp.cfg.folds.n_splits):
        raise ArtifactError(
            f"--fold {fold}: the competition has folds 0..{exp.cfg.folds.n_splits - 1}"
        )
    # everything that can fail is checked before `--force` removes a finished unit: the
    # external tables, every training image (decoded into the cache now: an unreadable one
    # is named with the others), and each unit's stamp (the teacher's units, for a student)
    external = External(exp)
    _ = exp.train_images, external.rows
    stamps = {}
    for f, s in exp.units(fold, seed):
        extra = extra_fingerprint
        if distiller is not None:
            extra = fingerprint({"extra": extra_fingerprint, "teacher": distiller.fingerprint(f)})
        stamps[(f, s)] = unit_stamp(exp, f, s, extra, external)
    # under torchrun, rank 0 alone prepares, locks and decides; every rank trains the unit
    main = distributed.current().is_main
    distributed.main_decides(partial(_prepared, exp, force and fold is None and seed is None))
    results = {}
    for (f, s), stamp in stamps.items():
        what = f"unit fold {f} seed {s} of {exp.cfg.name}"
        lock = exclusive(unit_lock(exp, f, s), what, wait=lock_wait)
        with lock if main else contextlib.nullcontext():
            if distributed.main_decides(partial(_to_train, exp, f, s, stamp, force)):
                results[(f, s)] = _train_one(
                    exp, f, s, stamp, extra_rows, on_epoch_end, external, distiller
                )
    return results


def _prepared(exp: Experiment, start_over: bool) -> bool:
    prepare(exp, start_over)
    return True


def _to_train(exp: Experiment, f: int, s: int, stamp: Stamp, force: bool) -> bool:
    """Whether unit (f, s) trains now (under its lock): not when fresh; a unit finished on
    other inputs is refused; `force` removes it first."""
    unit = exp.unit_dir(f, s)
    _check_config_unchanged(exp)
    if force and unit.exists():
        shutil.rmtree(unit)
    elif stamp.fresh():
        _log.info("train %s fold %d seed %d: done, skipped", exp.cfg.name, f, s)
        return False
    elif (unit / "result.json").exists():
        raise ArtifactError(
            f"{unit} was trained from other inputs ({', '.join(stamp.changed())} changed "
            "since); re-run with --force to retrain it, or use a new experiment name"
        )
    _check_resumable(unit, stamp)
    return True


def _check_resumable(unit: Path, stamp: Stamp) -> None:
    """A unit resumes from last.pt only on the inputs it started from: `started.json` records
    them when training begins, so data changed mid-run is refused rather than mixed in."""
    started = Stamp(unit / "started.json", stamp.parts)
    if (unit / "last.pt").exists() and (unit / "started.json").exists() and not started.fresh():
        raise ArtifactError(
            f"{unit} was started from other inputs ({', '.join(started.changed())} changed "
            "since) and would resume on today's; re-run with --force to restart it"
        )
    started.write()


def _check_config_unchanged(exp: Experiment) -> None:
    """Another process may have prepared this run under another config since ours did."""
    recorded = read_json(exp.run_dir / "run.json").get("config_hash")
    if recorded != fingerprint(training_config(exp.cfg)):
        raise ArtifactError(
            f"{exp.run_dir} was re-prepared under another config by another process; "
            "use a new experiment name for one of them"
        )


def _train_one(
    exp: Experiment,
    fold: int,
    seed: int,
    stamp: Stamp,
    extra_rows: ExtraRows | None,
    on_epoch_end: EpochHook | None,
    external: External | None = None,
    distiller: Distiller | None = None,
) -> dict:
    train, valid = fold_rows(exp, fold)
    extra = extra_rows(fold) if extra_rows is not None else None
    if extra is not None:
        train = concat_rows(train, extra)
    if external is not None and external.rows is not None:
        train = concat_rows(train, external.rows)  # training only: never validated on
    if distiller is not None:
        soft = distiller.soft_targets(fold, train.images, train.metadata)
        train = replace(train, teacher=soft)
    _log.info(
        "train %s fold %d seed %d: %d train / %d valid rows",
        exp.cfg.name,
        fold,
        seed,
        len(train.images),
        len(valid.images),
    )
    t0 = time.time()
    unit_dir = exp.unit_dir(fold, seed)
    # the trackers (`track:`) see every epoch through the engine's hook; never fail the unit
    with (
        progress.current().unit(exp.cfg, fold, seed, on_epoch_end) as timed_epoch_end,
        unit_tracking(exp.cfg, fold, seed, unit_dir) as tracking,
    ):
        hook = tracking.epoch_hook(timed_epoch_end)
        result = fit(exp.cfg, exp.task, train, valid, unit_dir, seed, hook, stamp)
        track_unit_result(tracking, result)
    _log.info(
        "  best %s %.4f at epoch %d (%.1fs)",
        result["metric"],
        result["best_score"],
        result["best_epoch"],
        time.time() - t0,
    )
    return result
