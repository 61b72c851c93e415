"""The regression table of `benchmarks/quality.py`: does the regression demo's ensemble beat
its best member and scikit-learn's classical references on the raw pixels?

Reads a finished `podium ensemble -c configs/digits_regression/ensemble.yaml` run (every
candidate scored there on the members' folds) and rebuilds its candidates' out-of-fold values
from the members' files (the same code, so the same figures: a candidate whose RMSE no longer
matches scores.json stops the table as stale) to put MAE and R² beside the RMSE. On the same
folds of the demo's train rows it fits scikit-learn references on the raw 8x8 pixels (0..16):
`RidgeCV` (alpha chosen on each training fold), `SVR(gamma=0.001, C=10)` (the digits' classic
RBF setting) and the training folds' mean (`DummyRegressor`, the floor).

    make demo DEMO=digits_regression
    python benchmarks/quality.py -c configs/digits_regression/ensemble.yaml [key=value ...]

Exits 1 when the chosen candidate does not beat the best member and every reference on the
competition metric (RMSE for the demo).
"""

from __future__ import annotations

import sys
import time
from typing import Any

import numpy as np
from sklearn.datasets import load_digits
from sklearn.dummy import DummyRegressor
from sklearn.linear_model import RidgeCV
from sklearn.svm import SVR
from verdict import verdict

from podium.competition import Competition
from podium.config import Config
from podium.ensemble.candidates import build_candidates
from podium.ensemble.inputs import Inputs, load_inputs
from podium.metrics.values import mae, r2, rmse
from podium.stages.demo_data import regression_values

REFERENCES: dict[str, Any] = {
    "mean of the training folds": DummyRegressor,
    "RidgeCV(alphas 1e-2..1e3), raw pixels": lambda: RidgeCV(alphas=np.logspace(-2, 3, 11)),
    "SVR(gamma=0.001, C=10), raw pixels": lambda: SVR(gamma=0.001, C=10),
}
STALE = 1e-6  # a rebuilt candidate's RMSE may differ from scores.json by rounding only


def regression_scores(y: np.ndarray, pred: np.ndarray, fold: np.ndarray) -> dict[str, float]:
    """RMSE, MAE and R² over every OOF row, and the spread of the per-fold RMSE."""
    per_fold = [rmse(y[fold == k], pred[fold == k]) for k in np.unique(fold)]
    return {
        "rmse": rmse(y, pred),
        "mae": mae(y, pred),
        "r2": r2(y, pred),
        "fold_std": float(np.std(per_fold)),
    }


def demo_pixels(comp: Competition) -> tuple[np.ndarray, np.ndarray]:
    """(raw 8x8 pixels, values) of the demo's train rows; exits when train.csv is not the
    regression demo's (the pixels would not be its images)."""
    digits = load_digits()
    rows = np.array([int(i.removeprefix("img_")) for i in comp.train_ids])  # demo ids: img_<index>
    y = comp.targets[:, 0]
    if not np.allclose(regression_values(digits.target)[rows].astype(float), y, atol=1e-9):
        sys.exit(
            "the demo's train.csv does not match the digits' values; rewrite it with "
            "podium demo-data --task regression"
        )
    return digits.data[rows], y


def reference_on_demo_folds(
    x: np.ndarray, y: np.ndarray, fold: np.ndarray, build
) -> dict[str, float]:
    """A regression of the value on the raw pixels, fold k predicted by the model fitted on the
    other folds (the ensemble's folds)."""
    pred = np.zeros(len(y))
    for k in np.unique(fold):
        pred[fold == k] = build().fit(x[fold != k], y[fold != k]).predict(x[fold == k])
    return regression_scores(y, pred, fold)


def candidate_table(
    cfg: Config, scores: dict[str, Any], inputs: Inputs
) -> dict[str, dict[str, float]]:
    """Every candidate's scores from its rebuilt OOF values; stops when they are stale."""
    y, fold = inputs.y, inputs.fold
    table = {}
    for c in build_candidates(cfg.section("ensemble"), inputs, None):
        table[c.name] = {"kind": c.kind, **regression_scores(y, c.oof, fold)}
        recorded = scores["candidates"].get(c.name, {}).get("rmse")
        if recorded is None or abs(recorded - table[c.name]["rmse"]) > STALE:
            sys.exit(
                f"{cfg.run_dir / 'scores.json'}: candidate {c.name!r} RMSE {recorded} differs "
                f"from its rebuilt {table[c.name]['rmse']:.6f}; rerun podium ensemble -c {cfg.source}"
            )
    return table


def main(cfg: Config, scores: dict[str, Any], source: str) -> int:
    metric, higher = scores["metric"], scores["greater_is_better"]
    t0 = time.time()
    inputs = load_inputs(cfg, cfg.section("ensemble"))
    table = candidate_table(cfg, scores, inputs)
    inputs_fold = inputs.fold
    x, y = demo_pixels(inputs.comp)
    refs = {
        name: reference_on_demo_folds(x, y, inputs_fold, build)
        for name, build in REFERENCES.items()
    }
    seconds = time.time() - t0

    members = {n: c for n, c in table.items() if c["kind"] == "member"}
    pick = max if higher else min
    best = pick(members, key=lambda n: members[n][metric])
    print(
        f"quality: {cfg.name} on {cfg.competition.name}, {len(y)} train rows, "
        f"{len(np.unique(inputs_fold))} folds ({source})"
    )
    print(f"  {'candidate':<44} {'rmse':>8} {'mae':>8} {'r2':>8} {'fold std':>9}")
    rows = [(f"{n} ({c['kind']})", c) for n, c in table.items()]
    rows += [(name, r) for name, r in refs.items()]
    for name, r in rows:
        mark = "  <- chosen" if name.startswith(f"{scores['chosen']} (") else ""
        print(
            f"  {name:<44} {r['rmse']:>8.4f} {r['mae']:>8.4f} {r['r2']:>8.4f} "
            f"{r['fold_std']:>9.4f}{mark}"
        )
    nested = scores["nested_selection"]
    print(
        f"  nested selection (choice per fold): {metric} {nested[metric]:.4f}, "
        f"picked {', '.join(sorted(set(nested['picked_by_fold'].values())))}"
    )

    bars = {f"best member ({best})": members[best][metric]}
    bars.update({name: r[metric] for name, r in refs.items() if metric in r})
    return verdict(
        scores,
        bars,
        metric,
        higher,
        f"candidates rebuilt and references computed in {seconds:.1f}s",
    )
