"""The multilabel demo's quality table: does the ensemble beat its best member and a classical
reference on the competition metric, on the same folds?

Reads a finished `podium ensemble -c configs/digits_multilabel/ensemble.yaml` run and
computes the reference the issue names on the same folds of the demo's train rows:
scikit-learn's one-vs-rest logistic regression on the raw 8x8 pixels (0..16, standardised),
scored exactly as podium scores a candidate (`podium.scoring.score_predictions`: F thresholds for
fold k fitted on the other folds), with the mean column AUC beside it.

    make demo DEMO=digits_multilabel && python benchmarks/quality.py -c configs/digits_multilabel/ensemble.yaml

`benchmarks/quality.py` hands a multilabel config to `main` here. Exits 1 when the chosen
candidate does not beat the best member and the reference on the metric.
"""

from __future__ import annotations

import sys
import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from podium.artifacts import read_json, require
from podium.competition import Competition
from podium.config import Config
from podium.folds import read_folds
from podium.metrics.multilabel import MULTILABEL
from podium.scoring import score_predictions
from podium.stages.demo_data import multilabel_tags


def reference_model() -> OneVsRestClassifier:
    return OneVsRestClassifier(make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)))


def reference_on_demo_folds(comp: Competition, fold: np.ndarray) -> dict:
    """OvR logistic regression on the demo's train rows (raw 8x8 pixels), the same folds."""
    digits = load_digits()
    rows = np.array([int(i.removeprefix("img_")) for i in comp.train_ids])  # demo ids: img_<index>
    tags = multilabel_tags(digits.target, digits.data)[rows]
    if not (tags == comp.train[comp.cfg.target_column].to_numpy()).all():
        sys.exit(
            "the demo's train.csv does not match sklearn's digits; rewrite it with podium demo-data"
        )
    x, y = digits.data[rows], comp.targets
    proba = np.zeros(y.shape)
    for k in np.unique(fold):
        model = reference_model().fit(x[fold != k], y[fold != k])
        proba[fold == k] = model.predict_proba(x[fold == k])
    block = score_predictions(comp.task, y, proba, fold).to_json()
    return {**block, "auc": MULTILABEL["auc"](y, proba)}


def main(cfg: Config, config: str) -> int:
    scores_path = require(
        cfg.run_dir / "scores.json", "ensemble scores", f"podium ensemble -c {config}"
    )
    scores = read_json(scores_path)
    comp = Competition.from_config(cfg)
    fold = read_folds(cfg.folds_path, comp)["fold"].to_numpy()
    metric = scores["metric"]
    t0 = time.time()
    reference = reference_on_demo_folds(comp, fold)
    seconds = time.time() - t0

    cands = scores["candidates"]
    members = {n: c for n, c in cands.items() if c["kind"] == "member"}
    best = max(members, key=lambda n: members[n][metric])
    rows = [
        (f"{n} ({c['kind']})", c[metric], c["valid_loss"], c["fold_std"]) for n, c in cands.items()
    ]
    nested = scores["nested_selection"]
    rows.append(
        ("nested selection (choice per fold)", nested[metric], nested["valid_loss"], np.nan)
    )
    ref = reference[metric], reference["valid_loss"], reference["fold_std"]
    rows.append(("OvR LogisticRegression, raw pixels, same folds", *ref))
    print(
        f"quality: {cfg.name} on {comp.cfg.name}, {len(fold)} train rows, {len(np.unique(fold))} folds ({scores_path})"
    )
    print(f"  {'candidate':<48} {metric:>10} {scores['valid_loss_name']:>9} {'fold std':>9}")
    for name, m, ll, std in rows:
        mark = "  <- chosen" if name.startswith(f"{scores['chosen']} (") else ""
        print(f"  {name:<48} {m:>10.4f} {ll:>9.4f} {std:>9.4f}{mark}")
    print(f"  reference mean column AUC {reference['auc']:.4f} (computed in {seconds:.1f}s)")

    chosen = scores["cv"]
    ok = True
    for what, bar in (
        (f"best member ({best})", members[best][metric]),
        ("OvR logistic reference, same folds", reference[metric]),
    ):
        ok &= chosen > bar
        print(f"  vs {what:<40} {metric} {chosen:.4f} {'>' if chosen > bar else '<='} {bar:.4f}")
    print(
        f"quality: chosen {scores['chosen']} {'BEATS' if ok else 'does NOT beat'} the best member "
        f"and the reference on {metric}"
    )
    return 0 if ok else 1
