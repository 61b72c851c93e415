"""The tabular members' estimators: a registry of scikit-learn and XGBoost models by name,
with the defaults podium needs (probabilities out), built per seed. Classifiers serve the
class tasks; the regressors (`ridge`, `svr`) the value tasks (regression, ordinal), fitted on
the target values."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, SVR
from xgboost import XGBClassifier

from podium.config.tabular import TabularConfig


def _svc(**params: Any) -> SVC:
    """SVC with libsvm's own probabilities (pairwise coupling, `probability=True`). Measured on
    the digits (same folds): log-loss 0.091, where CalibratedClassifierCV(SVC()) gives 0.26
    (sigmoid), 0.23 (isotonic) or 0.11 (temperature). scikit-learn 1.9 deprecates the flag
    (removal planned for 1.11); `fit_quietly` silences that one FutureWarning."""
    return SVC(**{"probability": True, **params})


def fit_quietly(model: BaseEstimator, x: np.ndarray, y: np.ndarray) -> BaseEstimator:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "The `probability` parameter", FutureWarning)
        return model.fit(x, y)


# name -> (the estimator's class, its builder, the defaults podium needs: probabilities out)
MODELS: dict[str, tuple[type, Callable[..., ClassifierMixin | RegressorMixin], dict[str, Any]]] = {
    "svc": (SVC, _svc, {}),
    "logistic": (LogisticRegression, LogisticRegression, {"max_iter": 2000}),
    "knn": (KNeighborsClassifier, KNeighborsClassifier, {}),
    "extra_trees": (ExtraTreesClassifier, ExtraTreesClassifier, {"n_estimators": 500}),
    "random_forest": (RandomForestClassifier, RandomForestClassifier, {"n_estimators": 500}),
    "xgboost": (XGBClassifier, XGBClassifier, {"tree_method": "hist"}),
    # regressors: value tasks (`Task.tabular.regressor`)
    "ridge": (Ridge, Ridge, {}),
    "svr": (SVR, SVR, {}),
}
REGRESSORS = ("ridge", "svr")


def build_model(section: TabularConfig, seed: int) -> BaseEstimator:
    """The section's estimator (behind a StandardScaler with `standardize`), seeded."""
    cls, builder, defaults = MODELS[section.model]
    params = {**defaults, **section.params}
    if "random_state" in cls().get_params():
        params.setdefault("random_state", seed)
    model = builder(**params)
    return make_pipeline(StandardScaler(), model) if section.standardize else model
