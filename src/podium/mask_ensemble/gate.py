"""The stack of the mask ensemble: a per-(image, class) XGBoost gate that says "this mask is
empty" from the members' maps, and empties the blend's mask there.

Features, per member, of each (image, class) map: the maximum probability, the mean
probability and the predicted area share at 0.5 (a fixed threshold: a threshold fitted on the
labels would leak them into the features). The label: is the true mask empty. For fold k the
gate is fitted on the other folds' pairs only (`podium.cross_fit`) and a pair is emptied when
its probability of being empty is at least 0.5: its map is set to 0, so every threshold of
the post-processing (refitted on the gated blend) leaves it empty, and `podium submit` needs
nothing new. Test pairs are gated by the mean of the K fold gates' probabilities.

Gates are written in XGBoost's own format (`gate_fold{k}.ubj`), never pickled. Where the
training pairs are all empty or all non-empty there is nothing to learn: that fold's gate is
the constant share.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from xgboost import XGBClassifier

from podium.artifacts import save_with
from podium.cross_fit import cross_fit

EMPTY_AT = 0.5  # a pair is emptied at this probability of being empty
PARAMS = {
    "n_estimators": 200,
    "learning_rate": 0.05,
    "max_depth": 3,
    "subsample": 0.8,
    "min_child_weight": 1.0,
    "tree_method": "hist",
    "n_jobs": 1,
    "random_state": 0,
    "eval_metric": "logloss",
}
FEATURES = ("max_prob", "mean_prob", "area_at_0.5")


def gate_features(maps: list[np.ndarray]) -> np.ndarray:
    """(N * C, 3 * M) features of every (image, class) pair, pairs in (image, class) order."""
    cols = []
    for m in maps:
        flat = m.reshape(m.shape[0] * m.shape[1], -1)
        cols += [flat.max(1), flat.mean(1), (flat >= 0.5).mean(1)]
    return np.stack(cols, axis=1).astype(np.float32)


def empty_labels(y: np.ndarray) -> np.ndarray:
    """(N * C,) 1 where the pair's true mask is empty."""
    return np.asarray(~np.any(y.reshape(y.shape[0] * y.shape[1], -1), axis=1), np.int32)


Gate = XGBClassifier | float  # a fitted gate, or the constant share of empty pairs


def fit_gate(x: np.ndarray, labels: np.ndarray) -> Gate:
    if labels.min() == labels.max():
        return float(labels[0])
    model = XGBClassifier(**PARAMS)
    model.fit(x, labels)
    return model


def p_empty(gate: Gate, x: np.ndarray) -> np.ndarray:
    if isinstance(gate, float):
        return np.full(len(x), gate)
    return np.asarray(gate.predict_proba(x)[:, 1])


def gated(maps: np.ndarray, p: np.ndarray) -> np.ndarray:
    """`maps` (N, C, H, W) with the pairs of `p >= EMPTY_AT` (N * C,) set to 0."""
    out = np.array(maps, dtype=np.float32, copy=True)
    flat = out.reshape(out.shape[0] * out.shape[1], -1)
    flat[p >= EMPTY_AT] = 0.0
    return out


@dataclass(frozen=True)
class GateFit:
    oof: np.ndarray  # the base maps, fold k's pairs gated by the gate fitted without it
    test: np.ndarray  # the test base maps gated by the folds' mean probability
    emptied: int  # OOF pairs the gate emptied
    gates: list[Gate]


def gate_cv(
    x: np.ndarray,
    labels: np.ndarray,
    base_oof: np.ndarray,
    fold: np.ndarray,
    x_test: np.ndarray | None = None,
    base_test: np.ndarray | None = None,
) -> GateFit:
    """Fold k's pairs of `base_oof` gated by the gate fitted on the other folds' pairs (a
    pair's fold is its image's); the test maps by the mean of the K gates."""
    classes = base_oof.shape[1]
    pair_fold = np.repeat(fold, classes)
    p = np.zeros(len(x))
    fitted = cross_fit(
        pair_fold,
        fit=lambda rows: fit_gate(x[rows], labels[rows]),
        apply=lambda g, rows: p_empty(g, x[rows]),
        out=p,
    )
    test = base_test
    if x_test is not None and base_test is not None:
        test = gated(base_test, np.mean([p_empty(g, x_test) for g in fitted.params], axis=0))
    oof = gated(base_oof, fitted.oof)
    empty = np.zeros((0,) + base_oof.shape[1:], np.float32)
    return GateFit(
        oof, empty if test is None else test, int((fitted.oof >= EMPTY_AT).sum()), fitted.params
    )


def save_gates(gates: list[Gate], folds: np.ndarray, out: Path) -> list[dict[str, Any]]:
    """Each fold's gate as `gate_fold{k}.ubj` (a constant gate as its value); the list
    `load_gates` reads back (scores.json keeps it, a bundle carries it)."""
    out.mkdir(parents=True, exist_ok=True)
    specs: list[dict[str, Any]] = []
    for k, gate in zip(folds, gates, strict=True):
        if isinstance(gate, float):
            specs.append({"fold": int(k), "constant": gate})
            continue
        name = f"gate_fold{int(k)}.ubj"
        save_with(out / name, gate.save_model)
        specs.append({"fold": int(k), "file": name})
    return specs


def load_gates(specs: list[dict[str, Any]], where: Path) -> list[Gate]:
    """The gates `save_gates` wrote under `where`."""
    gates: list[Gate] = []
    for spec in specs:
        if "constant" in spec:
            gates.append(float(spec["constant"]))
            continue
        model = XGBClassifier()
        model.load_model(where / spec["file"])
        gates.append(model)
    return gates


def gate_test(maps: list[np.ndarray], base: np.ndarray, gates: list[Gate]) -> np.ndarray:
    """`base` (the blended test maps) gated by the mean of `gates`' probabilities on the
    members' test `maps`, as the ensemble gated its test maps."""
    x = gate_features(maps)
    return gated(base, np.mean([p_empty(g, x) for g in gates], axis=0))
