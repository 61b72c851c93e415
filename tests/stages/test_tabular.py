"""Tabular level-1 members: a scikit-learn / XGBoost model on flattened pixels, fitted per
fold on the shared folds.csv, writing the same prediction files as a CNN experiment."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from xgboost import XGBClassifier

from podium.artifacts import read_json
from podium.cli import main
from podium.config import ConfigError
from podium.experiment import Experiment
from podium.stages import folds as folds_stage
from podium.stages import tabular
from podium.tabular.checks import check_tabular
from podium.tabular.features import feature_rows

ROOT = Path(__file__).resolve().parents[2]


def test_tabular_member_predicts_each_train_id_once_on_the_shared_folds(tiny_config, caplog):
    cfg = tiny_config("tabular={model: logistic, image_size: 8, params: {C: 1.0}}")
    folds_stage.run(cfg)
    exp = Experiment(cfg)

    tabular.run(exp)

    columns = exp.task.columns
    oof = pd.read_parquet(exp.run_dir / "oof.parquet")
    assert list(oof["id"]) == list(exp.comp.train_ids)  # every id once, in train.csv order
    assert (oof["fold"].to_numpy() == exp.fold_of_row).all()
    assert np.allclose(oof[columns].sum(axis=1), 1)
    by_fold = pd.read_parquet(exp.run_dir / "test_by_fold.parquet")
    assert sorted(by_fold["fold"].unique()) == [0, 1]
    test = pd.read_parquet(exp.run_dir / "test.parquet")
    assert list(test["id"]) == list(exp.comp.test_ids)
    scores = read_json(exp.run_dir / "scores.json")
    assert scores["cv"] > 0.9  # logistic regression on 8x8 digits, even with 2 folds
    assert read_json(exp.run_dir / "run.json")["folds_hash"] == exp.folds_hash

    with caplog.at_level(logging.INFO, logger="podium"):
        tabular.run(exp)  # finished: not refitted
    assert "up to date" in caplog.records[-1].getMessage()


def test_xgboost_member_saves_its_models_as_json(tiny_config):
    cfg = tiny_config(
        "tabular={model: xgboost, image_size: 8, params: {n_estimators: 5, max_depth: 2, n_jobs: 2}}"
    )
    folds_stage.run(cfg)
    exp = Experiment(cfg)
    tabular.run(exp)

    model = XGBClassifier()
    model.load_model(exp.run_dir / "fold0" / "model_seed0.json")
    x, _ = feature_rows(exp, cfg.section("tabular"))
    saved = pd.read_parquet(exp.run_dir / "fold0" / "valid.parquet")
    np.testing.assert_allclose(
        model.predict_proba(x[exp.fold_of_row == 0]),
        saved[exp.task.columns].to_numpy(),
        rtol=1e-5,
    )


def test_unknown_model_argument_is_named(tiny_config):
    cfg = tiny_config("tabular={model: svc, params: {gama: 0.1}}")
    with pytest.raises(ConfigError, match=r"tabular.params \['gama'\].*SVC"):
        check_tabular(cfg, Experiment(cfg).task)


def test_oof_and_infer_treat_a_tabular_member_as_predicted(tmp_path, demo_data_root, capsys):
    config = tmp_path / "knn.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "extends": str(ROOT / "configs/digits/base.yaml"),
                "folds": {"n_splits": 2},
                "tabular": {"model": "knn", "params": {"n_neighbors": 3}},
                "paths": {
                    "data": str(demo_data_root),
                    "runs": str(tmp_path / "runs"),
                    "submissions": str(tmp_path / "submissions"),
                },
            }
        )
    )
    assert main(["folds", "-c", str(config)]) == 0
    assert main(["oof", "-c", str(config)]) == 0  # fits, as train would
    assert main(["infer", "-c", str(config)]) == 0
    out = capsys.readouterr().out  # the CLI logs progress to stdout
    assert "knn on 192 pixel values" in out and "up to date" in out  # 8x8 pixels x 3 channels
    assert (tmp_path / "runs/digits/knn/test.parquet").exists()
