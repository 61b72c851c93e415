"""`podium train` for a config with a `tabular:` section: a level-1 member that is a
scikit-learn or XGBoost model on flattened pixels, not a CNN. It is fitted per fold on the
competition's folds.csv (fold k's rows predicted by the model fitted on the other folds), so
it can sit in an ensemble beside the CNNs, and it writes the experiment's prediction files
itself: oof.parquet, test.parquet, test_by_fold.parquet, scores.json, run.json.

    tabular:
      model: svc            # svc, logistic, knn, extra_trees, random_forest, xgboost
      params: {C: 10, gamma: 0.25}   # keyword arguments of that estimator
      image_size: 8         # pixels come from the uint8 decode cache at this size (h = w)
      grayscale: true       # mean over RGB (one value per pixel)
      standardize: false    # a StandardScaler in front of the model

Pixels are scaled to [0, 1]. sklearn models are not saved (predictions are kept instead;
podium never pickles); XGBoost models are saved in XGBoost's JSON format. A finished fold is
not refitted (`fold{k}/valid.parquet`, `fold{k}/test.parquet`), so a killed run resumes.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field
from sklearn.base import ClassifierMixin
from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from xgboost import XGBClassifier

from podium.artifacts import proba_columns, save_with, write_json, write_parquet
from podium.config import Config, ConfigError, parse_section
from podium.experiment import Experiment
from podium.metrics import get_metric


def _svc(**params: Any) -> SVC:
    """SVC with libsvm's own probabilities (pairwise coupling, `probability=True`). Measured on
    the digits (same folds): log-loss 0.091, where CalibratedClassifierCV(SVC()) gives 0.26
    (sigmoid), 0.23 (isotonic) or 0.11 (temperature). scikit-learn 1.9 deprecates the flag
    (removal planned for 1.11); `fit_quietly` silences that one FutureWarning."""
    return SVC(**{"probability": True, **params})


def fit_quietly(model, x: np.ndarray, y: np.ndarray):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "The `probability` parameter", FutureWarning)
        return model.fit(x, y)


# name -> (the estimator's class, its builder, the defaults podium needs: probabilities out)
MODELS: dict[str, tuple[type, Callable[..., ClassifierMixin], dict[str, Any]]] = {
    "svc": (SVC, _svc, {}),
    "logistic": (LogisticRegression, LogisticRegression, {"max_iter": 2000}),
    "knn": (KNeighborsClassifier, KNeighborsClassifier, {}),
    "extra_trees": (ExtraTreesClassifier, ExtraTreesClassifier, {"n_estimators": 500}),
    "random_forest": (RandomForestClassifier, RandomForestClassifier, {"n_estimators": 500}),
    "xgboost": (XGBClassifier, XGBClassifier, {"tree_method": "hist"}),
}
OUTPUTS = ("oof.parquet", "test.parquet", "test_by_fold.parquet", "scores.json")


class TabularConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: Literal["svc", "logistic", "knn", "extra_trees", "random_forest", "xgboost"]
    params: dict[str, Any] = Field(default_factory=dict)
    image_size: int = Field(8, ge=1)
    grayscale: bool = True
    standardize: bool = False


def parse_tabular(cfg: Config) -> TabularConfig:
    """The validated `tabular:` section; ConfigError names the file and the key."""
    section = parse_section(cfg, "tabular", TabularConfig, data=cfg.tabular or {})
    if section.model == "svc" and section.params.get("probability") is False:
        raise ConfigError(
            f"{cfg.source}: tabular.params.probability must stay true for svc (the ensemble needs probabilities)"
        )
    cls, _, _ = MODELS[section.model]
    # XGBoost passes unknown keyword arguments on to its booster; sklearn's estimators refuse them
    unknown = sorted(set(section.params) - set(cls().get_params()))
    if unknown and cls is not XGBClassifier:
        raise ConfigError(
            f"{cfg.source}: tabular.params {unknown} are not arguments of {cls.__name__}"
        )
    return section


def build_model(section: TabularConfig, seed: int):
    cls, builder, defaults = MODELS[section.model]
    params = {**defaults, **section.params}
    if "random_state" in cls().get_params():
        params.setdefault("random_state", seed)
    model = builder(**params)
    return make_pipeline(StandardScaler(), model) if section.standardize else model


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


def _proba(model, x: np.ndarray, num_classes: int) -> np.ndarray:
    """predict_proba mapped onto every class (a class absent from a fold's rows gets 0)."""
    out = np.zeros((len(x), num_classes))
    out[:, np.asarray(model.classes_, dtype=int)] = model.predict_proba(x)
    return out


def fit_fold(
    exp: Experiment, section: TabularConfig, k: int, x: np.ndarray, x_test: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Fold k's validation and test probabilities (mean over train.seeds), cached on disk."""
    cfg, comp = exp.cfg, exp.comp
    fold_dir = exp.run_dir / f"fold{k}"
    columns = proba_columns(comp.classes)
    rows = exp.fold_of_row == k
    if (fold_dir / "valid.parquet").exists() and (fold_dir / "test.parquet").exists():
        return (
            pd.read_parquet(fold_dir / "valid.parquet")[columns].to_numpy(),
            pd.read_parquet(fold_dir / "test.parquet")[columns].to_numpy(),
        )
    y = comp.targets
    valid = np.zeros((rows.sum(), comp.num_classes))
    test = np.zeros((len(x_test), comp.num_classes))
    for seed in cfg.train.seeds:
        model = build_model(section, seed)
        fit_quietly(model, x[~rows], y[~rows])
        valid += _proba(model, x[rows], comp.num_classes) / len(cfg.train.seeds)
        test += _proba(model, x_test, comp.num_classes) / len(cfg.train.seeds)
        if isinstance(model, XGBClassifier):
            save_with(fold_dir / f"model_seed{seed}.json", model.save_model)
    for name, ids, proba in (("valid", comp.train_ids[rows], valid), ("test", comp.test_ids, test)):
        frame = pd.DataFrame({"id": ids})
        frame[columns] = proba
        write_parquet(fold_dir / f"{name}.parquet", frame)
    return valid, test


def run(exp: Experiment, force: bool = False) -> None:
    from podium.stages.oof import score_block

    cfg = exp.cfg
    section = parse_tabular(cfg)
    exp.prepare(force=force)  # refuses a run made under another config or other folds
    if all((exp.run_dir / f).exists() for f in OUTPUTS):
        print(f"tabular {cfg.name}: up to date ({exp.run_dir / 'oof.parquet'})")
        return
    t0 = time.time()
    comp = exp.comp
    x, x_test = pixel_features(exp, section)
    folds = list(range(cfg.folds.n_splits))
    oof = np.zeros((len(x), comp.num_classes))
    columns = proba_columns(comp.classes)
    by_fold = []
    for k in folds:
        rows = exp.fold_of_row == k
        oof[rows], test_k = fit_fold(exp, section, k, x, x_test)
        frame = pd.DataFrame({"id": comp.test_ids, "fold": k})
        frame[columns] = test_k
        by_fold.append(frame)
    test_by_fold = pd.concat(by_fold, ignore_index=True)
    test = pd.DataFrame({"id": comp.test_ids})
    test[columns] = np.mean([f[columns].to_numpy() for f in by_fold], axis=0)
    frame = pd.DataFrame(
        {
            "id": comp.train_ids,
            "fold": exp.fold_of_row,
            "target": comp.train[comp.cfg.target_column].to_numpy(),
        }
    )
    frame[columns] = oof
    metric = cfg.competition.metric
    final = score_block(comp.targets, oof, exp.fold_of_row, metric)
    scores = {
        "metric": metric,
        "greater_is_better": get_metric(metric).greater_is_better,
        "cv": final[metric],
        "log_loss": final["log_loss"],
        "settings": {"tabular": section.model_dump(mode="json"), "seeds": cfg.train.seeds},
        "final": final,
        "seconds": round(time.time() - t0, 2),
    }
    write_parquet(exp.run_dir / "test_by_fold.parquet", test_by_fold)
    write_parquet(exp.run_dir / "test.parquet", test)
    write_parquet(exp.run_dir / "oof.parquet", frame)
    write_json(exp.run_dir / "scores.json", scores)  # last: marks the run complete
    print(
        f"tabular {cfg.name}: {section.model} on {x.shape[1]} pixels, {len(folds)} folds: "
        f"CV {metric} {scores['cv']:.4f}  log_loss {scores['log_loss']:.4f}  ({scores['seconds']}s)"
    )
