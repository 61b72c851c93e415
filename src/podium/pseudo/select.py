"""Which unlabelled rows become pseudo-labels, and what the student trains on for each.

Selection runs per class of the teacher's argmax, most confident rows first:
1. `top_fraction`: the most confident share of the rows the teacher puts in that class, so a
   class the teacher is shy about still contributes its best rows;
2. `threshold`: of those, only rows whose top probability reaches the threshold;
3. `max_per_class` and `balance` (cap at the smallest class's count): pseudo rows then do
   not tilt the student's class prior towards the classes the teacher finds easy.

Targets are one-hot (hard) or the teacher's distribution (soft); a row's loss weight is
`weight`, times the teacher's confidence with `confidence_weighting`.
"""

from __future__ import annotations

import math

import numpy as np

from podium.pseudo.schema import PseudoConfig


def select_rows(proba: np.ndarray, section: PseudoConfig) -> np.ndarray:
    """Indices (ascending) of the rows of `proba` (N, C) to pseudo-label."""
    pred, conf = proba.argmax(1), proba.max(1)
    kept = []
    for c in range(proba.shape[1]):
        rows = np.flatnonzero(pred == c)
        rows = rows[np.argsort(-conf[rows], kind="stable")]  # ties keep table order
        if section.top_fraction is not None:
            rows = rows[: math.ceil(section.top_fraction * len(rows))]
        if section.threshold is not None:
            rows = rows[conf[rows] >= section.threshold]
        kept.append(rows)
    cap = section.max_per_class
    if section.balance:
        smallest = min(len(rows) for rows in kept)
        cap = smallest if cap is None else min(cap, smallest)
    if cap is not None:
        kept = [rows[:cap] for rows in kept]
    return np.sort(np.concatenate(kept)).astype(np.int64)


def pseudo_targets(proba: np.ndarray, soft: bool) -> np.ndarray:
    """(N, C) float32 training targets: the teacher's distribution, or its argmax one-hot."""
    if soft:
        p = proba.astype(np.float32)
        return p / p.sum(1, keepdims=True)
    return np.eye(proba.shape[1], dtype=np.float32)[proba.argmax(1)]


def pseudo_weights(proba: np.ndarray, section: PseudoConfig) -> np.ndarray:
    """(N,) float32 loss weights of the pseudo rows."""
    w = np.full(len(proba), section.weight, np.float32)
    if section.confidence_weighting:
        w *= proba.max(1).astype(np.float32)
    return w
