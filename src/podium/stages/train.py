"""`podium train`: every fold x seed unit of an experiment (seed averaging), or one unit with
`--fold K --seed S` so units can run as parallel processes. Finished units are skipped; a
killed unit resumes from its last.pt."""

from __future__ import annotations

import time

import numpy as np

from podium.engine.trainer import EpochHook, TrainRows, ValidRows, fit, unit_done
from podium.experiment import Experiment


def one_hot(labels: np.ndarray, num_classes: int) -> np.ndarray:
    return np.eye(num_classes, dtype=np.float32)[labels]


def fold_rows(exp: Experiment, fold: int) -> tuple[TrainRows, ValidRows]:
    """The labelled rows of the other folds for training, fold `fold` for validation."""
    y = exp.comp.targets
    is_valid = exp.fold_of_row == fold
    images = exp.train_images
    train = TrainRows(images[~is_valid], one_hot(y[~is_valid], exp.comp.num_classes))
    return train, ValidRows(images[is_valid], y[is_valid])


def run(
    exp: Experiment,
    force: bool = False,
    fold: int | None = None,
    seed: int | None = None,
    extra_rows=None,
    on_epoch_end: EpochHook | None = None,
) -> dict[tuple[int, int], dict]:
    """Train the units; `extra_rows(fold) -> TrainRows | None` adds rows (pseudo-labels) to a
    fold's training set only, never to its validation set."""
    exp.prepare(force=force and fold is None and seed is None)
    results = {}
    for f, s in exp.units(fold, seed):
        unit = exp.unit_dir(f, s)
        if unit_done(unit) and not force:
            print(f"train {exp.cfg.name} fold {f} seed {s}: done, skipped")
            continue
        if force and unit.exists():
            import shutil

            shutil.rmtree(unit)
        train, valid = fold_rows(exp, f)
        extra = extra_rows(f) if extra_rows is not None else None
        if extra is not None:
            train = TrainRows(
                np.concatenate([train.images, extra.images]),
                np.concatenate([train.targets, extra.targets]),
                np.concatenate([np.ones(len(train.images), np.float32), extra.weights]),
            )
        print(
            f"train {exp.cfg.name} fold {f} seed {s}: {len(train.images)} train / {len(valid.images)} valid rows"
        )
        t0 = time.time()
        results[(f, s)] = fit(exp.cfg, train, valid, unit, s, on_epoch_end)
        r = results[(f, s)]
        print(
            f"  best {r['metric']} {r['best_score']:.4f} at epoch {r['best_epoch']} ({time.time() - t0:.1f}s)"
        )
    return results
