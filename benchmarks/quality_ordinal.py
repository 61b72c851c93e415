"""The ordinal table of `benchmarks/quality.py`: does the ordinal demo's ensemble beat its best
member and scikit-learn's classical references on the raw pixels?

Reads a finished `podium ensemble -c configs/digits_ordinal/ensemble.yaml` run (every
candidate scored there on the members' folds: QWK graded by cut-points fitted without the
fold) and computes, on the same folds of the demo's train rows, scikit-learn regressions of
the grade on the raw 8x8 pixels (0..16): `Ridge(alpha=1)` and `SVR(gamma=0.001, C=10)`, graded
the same CV-honest way (`podium.tasks.decisions.Cutpoints`). Also prints each reference's
QWK with plain rounding.

    python benchmarks/quality.py -c configs/digits_ordinal/ensemble.yaml [key=value ...]

Exits 1 when the chosen candidate does not beat every bar on QWK.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import Ridge
from sklearn.svm import SVR
from verdict import verdict

from podium.competition import Competition
from podium.config import Config
from podium.folds import read_folds
from podium.metrics.ordinal import apply_cutpoints, midpoint_cuts, quadratic_weighted_kappa
from podium.stages.demo_data import ordinal_grades
from podium.tasks.decisions import Cutpoints

REFERENCES: dict[str, Any] = {
    "Ridge(alpha=1), raw pixels": lambda: Ridge(alpha=1.0),
    "SVR(gamma=0.001, C=10), raw pixels": lambda: SVR(gamma=0.001, C=10),
}


def reference_on_demo_folds(comp: Competition, fold: np.ndarray, build) -> dict[str, float]:
    """A regression of the grade on the demo's train rows (raw 8x8 pixels), the same folds,
    graded with cut-points fitted without each fold."""
    digits = load_digits()
    rows = np.array([int(i.removeprefix("img_")) for i in comp.train_ids])  # demo ids: img_<index>
    x, y = digits.data[rows], comp.targets[:, 0].astype(np.int64)
    if not (ordinal_grades(digits.target)[rows].astype(int) == y).all():
        sys.exit(
            "the demo's train.csv does not match the digits' grades; rewrite it with demo-data"
        )
    values = np.zeros(len(y))
    for k in np.unique(fold):
        values[fold == k] = build().fit(x[fold != k], y[fold != k]).predict(x[fold == k])
    grades = comp.task.grades
    fit = Cutpoints(grades).fit_cv(y[:, None], values[:, None], fold).summary
    rounded = apply_cutpoints(values, midpoint_cuts(grades), grades)
    return {
        "qwk": fit.cv_score,
        "mse": float(np.mean((values - y) ** 2)),
        "fold_std": float(np.std(list(fit.fold_scores.values()))),
        "rounded_qwk": quadratic_weighted_kappa(y, rounded, grades),
    }


def main(cfg: Config, scores: dict[str, Any], source: str) -> int:
    comp = Competition.from_config(cfg)
    fold = read_folds(cfg.folds_path, comp)["fold"].to_numpy()
    t0 = time.time()
    refs = {name: reference_on_demo_folds(comp, fold, build) for name, build in REFERENCES.items()}
    seconds = time.time() - t0

    cands = scores["candidates"]
    members = {n: c for n, c in cands.items() if c["kind"] == "member"}
    best = max(members, key=lambda n: members[n]["qwk"])
    rows = [
        (f"{n} ({c['kind']})", c["qwk"], c["valid_loss"], c["fold_std"]) for n, c in cands.items()
    ]
    if "nested_selection" in scores:
        nested = scores["nested_selection"]
        rows.append(
            ("nested selection (choice per fold)", nested["qwk"], nested["valid_loss"], np.nan)
        )
    rows += [(name, r["qwk"], r["mse"], r["fold_std"]) for name, r in refs.items()]
    print(
        f"quality: {cfg.name} on {comp.cfg.name}, {len(fold)} train rows, "
        f"{len(np.unique(fold))} folds ({source}); QWK graded by cut-points fitted without the fold"
    )
    print(f"  {'candidate':<40} {'qwk':>9} {'mse':>9} {'fold std':>9}")
    for name, qwk, mse, std in rows:
        mark = "  <- chosen" if name.startswith(f"{scores['chosen']} (") else ""
        print(f"  {name:<40} {qwk:>9.4f} {mse:>9.4f} {std:>9.4f}{mark}")
    for name, r in refs.items():
        print(f"  {name}: rounded to the nearest grade qwk {r['rounded_qwk']:.4f}")

    bars = {f"best member ({best})": members[best]["qwk"]}
    bars.update({name: r["qwk"] for name, r in refs.items()})
    return verdict(scores, bars, "qwk", True, f"references computed in {seconds:.1f}s")
