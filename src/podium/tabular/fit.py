"""Fitting a tabular member fold by fold on the competition's folds: fold k's rows predicted
by the model fitted on the other folds (mean over `train.seeds`), the test rows by each fold's
model. A finished fold is not refitted: its predictions are kept in `fold{k}/` with a stamp
of what they were made from, so a killed run resumes and a changed input refits. Each
fitted model is kept too, in a safe form (`tabular.store`, never pickle), for `podium export`;
`fold{k}/models.json` lists them (or says why a model type has no safe form)."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, is_regressor

from podium.artifacts import write_json
from podium.config import Config
from podium.config.tabular import TabularConfig
from podium.errors import ArtifactError
from podium.experiment import Experiment
from podium.fingerprint import Stamp, config_part
from podium.predictions import read_test, write_test
from podium.tabular.estimators import build_model, fit_quietly
from podium.tabular.store import UnsafeModel, save_model

MODELS_JSON = "models.json"  # per fold: {"seed{s}": {"files": [...]} or {"unsafe": why}}


def tabular_config(cfg: Config) -> dict[str, Any]:
    """What a tabular member's predictions depend on in its config: its own section and the
    seeds (non-default values only); CNN settings (an ensemble's `train.epochs=3`) do not."""
    return {"tabular": config_part(cfg.section("tabular")), "seeds": cfg.train.seeds}


def tabular_parts(exp: Experiment) -> dict:
    """What a tabular member's predictions and models are made from (`tabular.json` and each
    fold's `fold.json` record it; `podium export` checks it)."""
    comp = exp.comp
    parts = {
        "config": tabular_config(exp.cfg),
        "folds": exp.folds_hash,
        "labels": comp.labels_fingerprint,
        "images": [comp.images_fingerprint("train"), comp.images_fingerprint("test")],
    }
    if not exp.cfg.section("tabular").grayscale:
        # `grayscale` defaulted to true before: a member fitted on the grey mean under the old
        # default must not be taken for one fitted on the channels under the new one
        parts["pixels"] = {"channels": exp.cfg.data.n_channels}
    return parts


def predict_seeds(models: list, x: np.ndarray, num_outputs: int) -> np.ndarray:
    """The mean over a fold's seed models of their class probabilities; a model fitted on
    another number of features (a bundle made under other `tabular.features`, `hog`,
    `grayscale`, `image_size` or `data.channels`) is refused, not left to sklearn's traceback."""
    width = int(x.shape[1])
    fitted: set[int] = set()
    for m in models:
        n = getattr(m, "n_features_in_", None)
        fitted.add(width if n is None else int(n))
    if fitted != {width}:
        raise ArtifactError(
            f"the tabular models were fitted on {sorted(fitted)} features per image, these "
            f"images give {x.shape[1]} (tabular.features, hog, grayscale, image_size or "
            "data.channels differ from the fit): refit the member and export it again"
        )
    out = np.zeros((len(x), num_outputs))
    for model in models:
        out += _predict(model, x, num_outputs) / len(models)
    return out


def _predict(model: BaseEstimator, x: np.ndarray, num_outputs: int) -> np.ndarray:
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
    files = fold_dir / "valid.parquet", fold_dir / "test.parquet", fold_dir / MODELS_JSON
    if stamp.fresh(files):
        return read_test(files[0], task, valid_ids), read_test(files[1], task, test_ids)
    stamp.invalidate()  # the fold's files are rewritten below: no stamp over a mix
    y = comp.targets  # classes (N,), or values (N, targets): one target is fitted as (N,)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    valid = np.zeros((rows.sum(), len(task.columns)))
    test = np.zeros((len(x_test), len(task.columns)))
    stored: dict[str, dict] = {}
    assert task.tabular is not None  # validation refuses a tabular member for a task without
    for seed in cfg.train.seeds:
        model = task.tabular.wrap(build_model(section, seed))  # multilabel: one-vs-rest
        fit_quietly(model, x[~rows], y[~rows])
        valid += _predict(model, x[rows], len(task.columns)) / len(cfg.train.seeds)
        test += _predict(model, x_test, len(task.columns)) / len(cfg.train.seeds)
        try:
            written = save_model(model, fold_dir / f"model_seed{seed}")
            stored[f"seed{seed}"] = {"files": [f.name for f in written]}
        except UnsafeModel as e:
            stored[f"seed{seed}"] = {"unsafe": str(e)}
    write_json(fold_dir / MODELS_JSON, stored)
    write_test(files[0], task, valid_ids, valid)
    write_test(files[1], task, test_ids, test)
    stamp.write()
    return valid, test
