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
from podium.cross_fit import cross_fit
from podium.tasks import Task
from podium.tasks.capabilities import BlendStacking, Stacking


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
    blends = stacking(task).blends()
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
    key = task.folds.stratify_key(y)
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

    model = stacking(task).meta_estimator(
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
    full = stacking(task).meta_estimator({**params, "n_estimators": trees, "random_state": seed})
    return full.fit(x, y, base_margin=margin, verbose=False)


def load_meta_model(path: Path, task: Task | None = None) -> Any:
    """A saved meta-model, as the task's estimator (XGBoost refuses to load a regressor into
    a classifier: a value task's stack); predictions use its early-stopped best iteration."""
    model = stacking(task).meta_estimator({}) if task is not None else XGBClassifier()
    model.load_model(path)
    return model


@dataclass
class FoldStack:
    """What fold k's meta-models are: one per seed, fitted without fold k, and the prior's
    weights (fitted without fold k too) they are boosted from."""

    models: list[Any]
    weights: np.ndarray | None


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
    """The meta-model's OOF and test predictions on the members' folds.

    x_train, x_test: the level-2 features (`podium.ensemble.features`) of the train and test
        rows; oof, test: the members' predictions, for the prior blend (`meta.prior`);
    y, fold: the targets and the fold of each train row;
    meta: seeds, inner split, early stopping, prior, refit; params: XGBoost's arguments;
    save_dir: where each fold x seed meta-model is written (`fold{k}_seed{s}.ubj`) with the
        prior's weights (`prior.json`), for `podium predict`; None writes nothing.
    Fold k's meta-models and prior weights are fitted on the other folds only; its OOF rows
    are the mean over seeds, the test prediction the mean over folds x seeds.
    """
    stack = stacking(task)
    num_classes = oof[0].shape[1]
    result = StackResult(np.zeros((len(y), num_classes)), np.zeros((len(x_test), num_classes)))

    def margins(weights: np.ndarray | None, preds: list[np.ndarray]) -> np.ndarray | None:
        return None if weights is None else stack.prior_margin(preds, weights, meta.prior)

    def fit(fit_rows: np.ndarray) -> FoldStack:
        weights = prior_weights(task, meta.prior, [p[fit_rows] for p in oof], y[fit_rows])
        margin = margins(weights, oof)
        models = [
            fit_meta_model(
                task,
                x_train[fit_rows],
                y[fit_rows],
                meta,
                params,
                seed,
                None if margin is None else margin[fit_rows],
            )
            for seed in meta.seeds
        ]
        return FoldStack(models, weights)

    def apply(fitted: FoldStack, rows: np.ndarray) -> np.ndarray:
        margin = margins(fitted.weights, oof)
        out = np.zeros((int(rows.sum()), num_classes))
        for model in fitted.models:
            out += stack.meta_predict(
                model, x_train[rows], None if margin is None else margin[rows]
            ) / len(meta.seeds)
        return out

    fitted = cross_fit(fold, fit, apply, out=result.oof)
    for k, fold_stack in zip(fitted.folds.tolist(), fitted.params, strict=True):
        if fold_stack.weights is not None:
            result.prior_weights[f"fold{int(k)}"] = fold_stack.weights.tolist()
        margin_test = margins(fold_stack.weights, test)
        for seed, model in zip(meta.seeds, fold_stack.models, strict=True):
            if len(x_test):
                result.test += stack.meta_predict(model, x_test, margin_test) / (
                    len(fitted.folds) * len(meta.seeds)
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


def blending(task: Task) -> BlendStacking:
    """The task's stacking capability, its blends at least (validation refuses an ensemble
    of a task without)."""
    if task.stacking is None:
        raise ConfigError(f"ensemble: a {task.name} task cannot be ensembled")
    return task.stacking


def stacking(task: Task) -> Stacking:
    """The task's stacking capability with its XGBoost meta-model (validation refuses
    `ensemble.select: stack` and `tune.mode: meta` for a task whose stacking only blends)."""
    found = blending(task)
    if not isinstance(found, Stacking):
        raise ConfigError(f"ensemble: a {task.name} task has no XGBoost meta-model (no stack)")
    return found


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
                else stacking(task).prior_margin(test, np.asarray(weights), prior["prior"])
            )
        model = load_meta_model(meta_dir / f"fold{k}_seed{seed}.ubj", task)
        out += stacking(task).meta_predict(model, x_test, margins[k]) / len(units)
    return out
