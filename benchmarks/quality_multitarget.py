"""The multitarget series demo's weighted log-loss against two references on the same folds:
the prior (each target's class frequencies in the training folds, weighted by its class
weights: the constant that minimises the weighted log-loss) and a per-target logistic
regression on downsampled pixels (8 x 8 x depth values, the class weights as sample weights,
standardised). Fold k of each is fitted on the other folds; the hidden test is predicted by
models fitted on every train row. The CNN's figures are read from its run (`podium score`
first). Usage:

    python benchmarks/quality_multitarget.py CONFIG [key=value ...]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from podium.competition import read_table
from podium.config import load_config
from podium.config.tabular import TabularConfig
from podium.experiment import Experiment
from podium.folds import read_folds
from podium.metrics.multitarget import group_losses
from podium.predictions import read_oof
from podium.submission import read_submission
from podium.tabular.features import split_features


def prior(task, y: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros((n, task.num_outputs))
    for j, t in enumerate(task.targets):
        labels = y[:, j][y[:, j] >= 0]
        mass = np.bincount(labels, minlength=t.width) * np.asarray(t.weights)
        out[:, t.block] = (mass + 1e-3) / (mass + 1e-3).sum()
    return out


C = 1e-3  # strong regularisation: 2,048 pixel values for ~240 training studies


def logistic(task, x: np.ndarray, y: np.ndarray, x_out: np.ndarray) -> np.ndarray:
    out = np.zeros((len(x_out), task.num_outputs))
    for j, t in enumerate(task.targets):
        rows = y[:, j] >= 0
        model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=2000))
        model.fit(
            x[rows], y[rows, j], logisticregression__sample_weight=np.asarray(t.weights)[y[rows, j]]
        )
        out[:, t.offset + model.classes_] = model.predict_proba(x_out)
    return out


def gain_interval(metric, y: np.ndarray, ref: np.ndarray, pred: np.ndarray) -> tuple[float, float]:
    """95% paired bootstrap interval (studies resampled, 1,000 times) of metric(ref) -
    metric(pred): positive means `pred` has the lower loss."""
    rng = np.random.default_rng(0)
    gains = []
    for _ in range(1000):
        i = rng.integers(0, len(y), len(y))
        gains.append(metric(y[i], ref[i]) - metric(y[i], pred[i]))
    low, high = np.percentile(gains, [2.5, 97.5])
    return float(low), float(high)


def main(argv: list[str]) -> None:
    cfg = load_config(Path(argv[0]), argv[1:])
    exp = Experiment(cfg)
    comp, task = exp.comp, exp.comp.task
    y = comp.targets
    fold = read_folds(cfg.folds_path, comp)["fold"].to_numpy()
    section = TabularConfig(model="logistic", image_size=8)
    x, x_test = split_features(exp, section, "train"), split_features(exp, section, "test")
    solution = read_table(cfg.data_dir / "solution.csv", "solution")
    test_ids = comp.test_ids
    y_test = task.encode(
        solution.set_index(cfg.competition.id_column).loc[test_ids].reset_index(),
        Path("solution.csv"),
    )
    rows, terms, made = {}, {}, {}
    heads = [t.head for t in task.targets]
    for name, fit in (
        ("prior", lambda a, b, c: prior(task, b, len(c))),
        ("logistic 8x8xdepth", lambda a, b, c: logistic(task, a, b, c)),
    ):
        oof = np.zeros((len(y), task.num_outputs))
        for k in np.unique(fold):
            oof[fold == k] = fit(x[fold != k], y[fold != k], x[fold == k])
        test = fit(x, y, x_test)
        rows[name] = (task.metric(y, oof), task.metric(y_test, test))
        made[name] = (oof, test)
        terms[name] = (group_losses(y, oof, heads), group_losses(y_test, test, heads))
    oof = read_oof(cfg.run_dir / "oof.parquet", task, comp.train_ids, fold)
    subs = sorted(Path(cfg.paths.submissions).glob(f"{cfg.competition.name}-{cfg.name}-*.csv"))
    sub = read_submission(subs[-1], comp)
    cols = [c for c in sub.columns if c != cfg.competition.id_column]
    pred = task.submission.predictions(
        sub.set_index(cfg.competition.id_column).loc[test_ids].reset_index(), cols
    )
    rows[f"CNN {cfg.name}"] = (task.metric(y, oof), task.metric(y_test, pred))
    terms[f"CNN {cfg.name}"] = (group_losses(y, oof, heads), group_losses(y_test, pred, heads))
    for name, (cv, hidden) in rows.items():
        per = "  ".join(
            f"{g} {terms[name][0][g]:.4f} / {terms[name][1][g]:.4f}" for g in terms[name][0]
        )
        print(f"| {name} | {cv:.4f} | {hidden:.4f} | {per} |")
    ref_oof, ref_test = made["prior"]
    cv_gain = gain_interval(task.metric, y, ref_oof, oof)
    test_gain = gain_interval(task.metric, y_test, ref_test, pred)
    print(f"CNN vs prior, 95% bootstrap of the gain: CV {cv_gain}, hidden test {test_gain}")
    print(json.dumps({k: list(v) for k, v in rows.items()}))


if __name__ == "__main__":
    main(sys.argv[1:])
