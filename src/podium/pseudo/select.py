"""Which unlabelled rows become pseudo-labels, and their loss weights.

The task turns the teacher's predictions into candidates: a group per row (for
classification, the predicted class) and a confidence. Selection runs per group, most
confident rows first:
1. `top_fraction`: the most confident share of the rows the teacher puts in that class, so a
   class the teacher is shy about still contributes its best rows;
2. `threshold`: of those, only rows whose top probability reaches the threshold;
3. `max_per_class` and `balance` (cap at the smallest class's count): pseudo rows then do
   not tilt the student's class prior towards the classes the teacher finds easy.

A row's loss weight is `weight`, times the teacher's confidence with `confidence_weighting`;
its training target is the task's (`Task.pseudo_targets`: hard or soft).
"""

from __future__ import annotations

import math

import numpy as np

from podium.config.pseudo import PseudoConfig
from podium.tasks import PseudoCandidates


def select_rows(cands: PseudoCandidates, section: PseudoConfig) -> np.ndarray:
    """Indices (ascending) of the candidate rows to pseudo-label."""
    group, conf = cands.group, cands.confidence
    kept = []
    for c in range(cands.groups):
        rows = np.flatnonzero(group == c)
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


def pseudo_weights(confidence: np.ndarray, section: PseudoConfig) -> np.ndarray:
    """(N,) float32 loss weights of the pseudo rows."""
    w = np.full(len(confidence), section.weight, np.float32)
    if section.confidence_weighting:
        w *= confidence.astype(np.float32)
    return w
