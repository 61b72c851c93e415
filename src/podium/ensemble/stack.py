"""The XGBoost meta-model, cross-validated on the members' own folds.

For fold k the meta-model is fitted on the level-2 rows of the other folds only, with early
stopping on an inner (stratified) split of those rows, and predicts fold k: fold k never
chooses a tree, so the meta-OOF is as honest as the members' OOF. Each fold is fitted once
per seed (the seed moves the inner split and XGBoost's row/column sampling); a fold's OOF is
the mean over seeds and the test prediction the mean over folds x seeds.

Models are written in XGBoost's own format (`fold{k}_seed{s}.ubj`), never pickled.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.model_selection import train_test_split
from xgboost import XGBClassifier

from podium.artifacts import save_with
from podium.ensemble.schema import MetaConfig


@dataclass
class StackResult:
    oof: np.ndarray  # (N_train, C): fold k predicted by the models fitted without it
    test: np.ndarray  # (N_test, C): mean over folds x seeds
    best_iterations: dict[str, int] = field(default_factory=dict)  # "fold{k}_seed{s}" -> trees


def inner_split(y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows to fit on and rows to stop on, stratified when every class has two rows."""
    rows = np.arange(len(y))
    counts = np.bincount(y)
    stratify = y if counts[counts > 0].min() >= 2 else None
    return train_test_split(rows, test_size=fraction, stratify=stratify, random_state=seed)


def fit_meta_model(
    x: np.ndarray, y: np.ndarray, num_classes: int, meta: MetaConfig, params: dict[str, Any], seed: int
) -> XGBClassifier:
    fit_rows, stop_rows = inner_split(y, meta.inner_valid_fraction, seed)
    model = XGBClassifier(
        **params,
        eval_metric="mlogloss" if num_classes > 2 else "logloss",
        early_stopping_rounds=meta.early_stopping_rounds,
        random_state=seed,
    )
    model.fit(x[fit_rows], y[fit_rows], eval_set=[(x[stop_rows], y[stop_rows])], verbose=False)
    if not meta.refit:
        return model
    # the inner split chose the number of trees; refit on every row of the training folds
    trees = int(model.best_iteration) + 1
    full = XGBClassifier(
        **{**params, "n_estimators": trees},
        eval_metric="mlogloss" if num_classes > 2 else "logloss",
        random_state=seed,
    )
    return full.fit(x, y, verbose=False)


def load_meta_model(path: Path) -> XGBClassifier:
    """A saved meta-model; `predict_proba` uses its early-stopped best iteration."""
    model = XGBClassifier()
    model.load_model(path)
    return model


def stack_cv(
    x_train: np.ndarray,
    x_test: np.ndarray,
    y: np.ndarray,
    fold: np.ndarray,
    num_classes: int,
    meta: MetaConfig,
    params: dict[str, Any],
    save_dir: Path | None = None,
) -> StackResult:
    oof = np.zeros((len(y), num_classes))
    test = np.zeros((len(x_test), num_classes))
    folds = np.unique(fold)
    result = StackResult(oof, test)
    for k in folds:
        fit_rows, rows = fold != k, fold == k
        for seed in meta.seeds:
            model = fit_meta_model(x_train[fit_rows], y[fit_rows], num_classes, meta, params, seed)
            oof[rows] += model.predict_proba(x_train[rows]) / len(meta.seeds)
            test += model.predict_proba(x_test) / (len(folds) * len(meta.seeds))
            unit = f"fold{int(k)}_seed{seed}"
            result.best_iterations[unit] = model.get_booster().num_boosted_rounds() if meta.refit else int(model.best_iteration) + 1
            if save_dir is not None:
                save_with(save_dir / f"{unit}.ubj", model.save_model)
    return result
