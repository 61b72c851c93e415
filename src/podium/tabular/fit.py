"""Fitting a tabular member fold by fold on the competition's folds: fold k's rows predicted
by the model fitted on the other folds (mean over `train.seeds`), the test rows by each fold's
model. A finished fold is not refitted: its predictions are kept in `fold{k}/` with a stamp
of what they were made from, so a killed run resumes and a changed input refits."""

from __future__ import annotations

import numpy as np
from sklearn.base import is_regressor
from xgboost import XGBClassifier

from podium.artifacts import save_with
from podium.experiment import Experiment
from podium.fingerprint import Stamp
from podium.predictions import read_test, write_test
from podium.tabular.estimators import build_model, fit_quietly
from podium.tabular.schema import TabularConfig


def pixel_features(exp: Experiment, section: TabularConfig) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) as float32 rows of pixels in [0, 1], read through the decode cache at
    `tabular.image_size` (its own cache file beside the CNNs')."""
    size = (section.image_size, section.image_size)
    data = exp.cfg.data.model_copy(update={"image_size": size, "cache_size": None})
    pixels = Experiment(exp.cfg.model_copy(update={"data": data}))

    def flat(images: np.ndarray) -> np.ndarray:
        x = images.astype(np.float32) / 255.0
        if section.grayscale:
            x = x.mean(axis=-1)
        return x.reshape(len(x), -1)

    return flat(pixels.train_images), flat(pixels.test_images)


def _predict(model, x: np.ndarray, num_outputs: int) -> np.ndarray:
    """A regressor's values (N, targets); a classifier's predict_proba mapped onto every class
    (a class absent from a fold's rows gets 0)."""
    if is_regressor(model):
        return np.asarray(model.predict(x), np.float64).reshape(len(x), -1)
    out = np.zeros((len(x), num_outputs))
    out[:, np.asarray(model.classes_, dtype=int)] = model.predict_proba(x)
    return out


def fit_fold(
    exp: Experiment,
    section: TabularConfig,
    k: int,
    x: np.ndarray,
    x_test: np.ndarray,
    parts: dict,
) -> tuple[np.ndarray, np.ndarray]:
    """Fold k's validation and test predictions (mean over train.seeds), kept on disk."""
    cfg, comp, task = exp.cfg, exp.comp, exp.task
    fold_dir = exp.run_dir / f"fold{k}"
    rows = exp.fold_of_row == k
    valid_ids, test_ids = comp.train_ids[rows], comp.test_ids
    stamp = Stamp(fold_dir / "fold.json", parts)
    files = fold_dir / "valid.parquet", fold_dir / "test.parquet"
    if stamp.fresh(files):
        return read_test(files[0], task, valid_ids), read_test(files[1], task, test_ids)
    y = comp.targets  # classes (N,), or values (N, targets): one target is fitted as (N,)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    valid = np.zeros((rows.sum(), len(task.columns)))
    test = np.zeros((len(x_test), len(task.columns)))
    for seed in cfg.train.seeds:
        model = build_model(section, seed)
        fit_quietly(model, x[~rows], y[~rows])
        valid += _predict(model, x[rows], len(task.columns)) / len(cfg.train.seeds)
        test += _predict(model, x_test, len(task.columns)) / len(cfg.train.seeds)
        if isinstance(model, XGBClassifier):
            save_with(fold_dir / f"model_seed{seed}.json", model.save_model)
    write_test(files[0], task, valid_ids, valid)
    write_test(files[1], task, test_ids, test)
    stamp.write()
    return valid, test
