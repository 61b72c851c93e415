"""Fitted tabular models stored without pickle (`podium.tabular.store`): a reloaded model
predicts exactly what the fitted one did; a model whose state only pickle could hold is
refused by name, and `podium export` refuses such a member with the reason."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits

from podium.bundle.contents import check_member
from podium.config.tabular import TabularConfig
from podium.errors import ArtifactError
from podium.experiment import Experiment
from podium.stages import folds as folds_stage
from podium.stages import tabular as tabular_stage
from podium.tabular.estimators import build_model, fit_quietly
from podium.tabular.store import UnsafeModel, load_model, save_model


@pytest.fixture(scope="module")
def digits():
    x, y = load_digits(return_X_y=True)
    return x[:600] / 16, y[:600], x[600:700] / 16


@pytest.mark.parametrize(
    "section",
    [
        {"model": "svc", "params": {"C": 10, "gamma": 0.256}, "standardize": True},
        {"model": "logistic", "params": {"max_iter": 300}},
        {"model": "xgboost", "params": {"n_estimators": 10}},
    ],
)
def test_a_reloaded_model_predicts_what_the_fitted_one_did(section, digits, tmp_path):
    x, y, x_new = digits
    model = fit_quietly(build_model(TabularConfig(**section), seed=0), x, y)
    files = save_model(model, tmp_path / "model_seed0")
    assert all(f.suffix in (".json", ".npz") for f in files)  # never a pickle
    again = load_model(tmp_path / "model_seed0")
    np.testing.assert_array_equal(again.predict_proba(x_new), model.predict_proba(x_new))


def test_a_forest_has_no_safe_form_and_is_named(digits, tmp_path):
    x, y, _ = digits
    model = build_model(TabularConfig(model="random_forest", params={"n_estimators": 3}), 0)
    with pytest.raises(UnsafeModel, match=r"RandomForestClassifier\.estimator"):
        save_model(fit_quietly(model, x, y), tmp_path / "m")


def test_export_refuses_a_member_without_a_safe_form(tiny_config):
    cfg = tiny_config("tabular={model: random_forest, params: {n_estimators: 3}}")
    folds_stage.run(cfg)
    tabular_stage.run(Experiment(cfg))  # training keeps working: the predictions are kept
    with pytest.raises(ArtifactError, match=r"tabular.model 'random_forest' cannot be exported"):
        check_member(cfg, cfg)
