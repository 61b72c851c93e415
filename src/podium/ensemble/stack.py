"""The XGBoost meta-model, cross-validated on the members' own folds.

For fold k the meta-model is fitted on the level-2 rows of the other folds only, with early
stopping on an inner (stratified) split of those rows, and predicts fold k: fold k never
chooses a tree, so the meta-OOF is as honest as the members' OOF. Each fold is fitted once
per seed (the seed moves the inner split and XGBoost's row/column sampling); a fold's OOF is
the mean over seeds and the test prediction the mean over folds x seeds.

With `meta.prior` the trees start from a blend's log-probabilities (XGBoost's `base_margin`)
and learn corrections to it, instead of rebuilding from nothing a mapping the blend already
gets right; fold k's prior weights are fitted on the other folds, like everything else.

Models are written in XGBoost's own format (`fold{k}_seed{s}.ubj`), never pickled; a model
predicts with its fold's prior (`prior_margin`), whose weights scores.json keeps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.model_selection import train_test_split
from xgboost import XGBClassifier

from podium.artifacts import read_json, save_with, write_json
from podium.config import ConfigError
from podium.config.ensemble import MetaConfig
from podium.tasks import Task


@dataclass
class StackResult:
    oof: np.ndarray  # (N_train, C): fold k predicted by the models fitted without it
    test: np.ndarray  # (N_test, C): mean over folds x seeds
    trees: dict[str, int] = field(default_factory=dict)  # "fold{k}_seed{s}" -> trees used
    prior_weights: dict[str, list[float]] = field(default_factory=dict)  # "fold{k}" -> weights


def prior_weights(
    task: Task, prior: str, preds: list[np.ndarray], y: np.ndarray
) -> np.ndarray | None:
    """The prior blend's weights, fitted on (preds, y): equal for `mean`, else the task's
    blend of that name."""
    if prior == "none":
        return None
    if prior == "mean":
        return np.full(len(preds), 1.0 / len(preds))
    blends = task.blends()
    if prior not in blends:
        raise ConfigError(
            f"ensemble.meta.prior: {prior!r} is not a blend of a {task.name} task; "
            f"use one of {['none', 'mean', *blends]}"
        )
    return blends[prior].fit(preds, y)


def inner_split(
    task: Task, y: np.ndarray, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Rows to fit on and rows to stop on, stratified when every stratum has two rows."""
    rows = np.arange(len(y))
    key = task.stratify_key(y)
    _, counts = np.unique(key, return_counts=True)
    stratify = key if counts.min() >= 2 else None
    return train_test_split(rows, test_size=fraction, stratify=stratify, random_state=seed)


def fit_meta_model(
    task: Task,
    x: np.ndarray,
    y: np.ndarray,
    meta: MetaConfig,
    params: dict[str, Any],
    seed: int,
    margin: np.ndarray | None = None,
) -> Any:
    """Early stopping on an inner split of (x, y); with `meta.refit`, refit on all of it with
    the number of trees that split chose."""
    fit_rows, stop_rows = inner_split(task, y, meta.inner_valid_fraction, seed)

    def part(rows: np.ndarray) -> np.ndarray | None:
        return None if margin is None else margin[rows]

    model = task.meta_estimator(
        {**params, "early_stopping_rounds": meta.early_stopping_rounds, "random_state": seed}
    )
    model.fit(
        x[fit_rows],
        y[fit_rows],
        base_margin=part(fit_rows),
        eval_set=[(x[stop_rows], y[stop_rows])],
        base_margin_eval_set=None if margin is None else [margin[stop_rows]],
        verbose=False,
    )
    if not meta.refit:
        return model
    trees = int(model.best_iteration) + 1
    full = task.meta_estimator({**params, "n_estimators": trees, "random_state": seed})
    return full.fit(x, y, base_margin=margin, verbose=False)


def load_meta_model(path: Path, task: Task | None = None) -> Any:
    """A saved meta-model, as the task's estimator (XGBoost refuses to load a regressor into
    a classifier: a value task's stack); predictions use its early-stopped best iteration."""
    model = task.meta_estimator({}) if task is not None else XGBClassifier()
    model.load_model(path)
    return model


def stack_cv(
    task: Task,
    x_train: np.ndarray,
    x_test: np.ndarray,
    oof: list[np.ndarray],
    test: list[np.ndarray],
    y: np.ndarray,
    fold: np.ndarray,
    meta: MetaConfig,
    params: dict[str, Any],
    save_dir: Path | None = None,
) -> StackResult:
    """`x_*` are the level-2 features, `oof`/`test` the members' predictions (for the prior)."""
    num_classes = oof[0].shape[1]
    folds = np.unique(fold)
    result = StackResult(np.zeros((len(y), num_classes)), np.zeros((len(x_test), num_classes)))
    for k in folds:
        fit_rows, rows = fold != k, fold == k
        weights = prior_weights(task, meta.prior, [p[fit_rows] for p in oof], y[fit_rows])
        margin = margin_test = None
        if weights is not None:
            result.prior_weights[f"fold{int(k)}"] = weights.tolist()
            margin = task.prior_margin(oof, weights, meta.prior)
            margin_test = task.prior_margin(test, weights, meta.prior)
        for seed in meta.seeds:
            model = fit_meta_model(
                task,
                x_train[fit_rows],
                y[fit_rows],
                meta,
                params,
                seed,
                None if margin is None else margin[fit_rows],
            )
            result.oof[rows] += task.meta_predict(
                model, x_train[rows], None if margin is None else margin[rows]
            ) / len(meta.seeds)
            if len(x_test):
                result.test += task.meta_predict(model, x_test, margin_test) / (
                    len(folds) * len(meta.seeds)
                )
            unit = f"fold{int(k)}_seed{seed}"
            result.trees[unit] = (
                model.get_booster().num_boosted_rounds()
                if meta.refit
                else int(model.best_iteration) + 1
            )
            if save_dir is not None:
                save_with(save_dir / f"{unit}.ubj", model.save_model)
    if save_dir is not None:  # what a reloaded model needs to predict as it did here
        write_json(
            save_dir / "prior.json",
            {"prior": meta.prior, "members_weights_by_fold": result.prior_weights},
        )
    return result


def stack_predict(
    task: Task,
    x_test: np.ndarray,
    test: list[np.ndarray],
    meta_dir: Path,
    units: list[tuple[int, int]],
) -> np.ndarray:
    """The stack's test prediction from its saved meta-models (`podium predict`): the mean
    over `units` (fold, seed), fold-major as `stack_cv` sums them, each model boosted from its
    fold's prior (prior.json), so the numbers are the ones `stack_cv` wrote."""
    prior = read_json(meta_dir / "prior.json")
    out = np.zeros((len(x_test), test[0].shape[1]))
    margins: dict[int, np.ndarray | None] = {}
    for k, seed in units:
        if k not in margins:
            weights = prior["members_weights_by_fold"].get(f"fold{k}")
            margins[k] = (
                None
                if weights is None
                else task.prior_margin(test, np.asarray(weights), prior["prior"])
            )
        model = load_meta_model(meta_dir / f"fold{k}_seed{seed}.ubj", task)
        out += task.meta_predict(model, x_test, margins[k]) / len(units)
    return out
