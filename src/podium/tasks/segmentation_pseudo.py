"""Segmentation's pseudo-label capability: which of a teacher's probability maps become
training masks, and what the student trains on.

A map is a candidate as a whole image (a mask is one training row). Its confidence is the
mean over its pixels (and classes) of |p - 0.5| * 2: 1 where every pixel is sure, 0 where
every pixel sits at 0.5. The mean suits masks whose pixels are mostly background: a map
with a confident stroke and a blurred border scores a little under one that is sure
everywhere, and a map unsure over a large area falls far below. Its group (the "class" that
`pseudo.top_fraction`, `max_per_class` and `balance` count within) is whether the teacher
sees anything: `empty` (no pixel at or above 0.5 in any class) or `mask`, so `balance: true`
keeps as many empty as non-empty pseudo images per fold.

Targets: `pseudo.soft: true` trains on the teacher's probabilities (soft targets: smp's
BCE and Dice take float targets, Dice then is the soft Dice); otherwise on the teacher's
decided masks, thresholded and cleaned of small components by the post-processing fitted
on its OOF maps (`decided`: the student's `podium.pseudo.masks` passes fold k the
parameters fitted without fold k's rows).
"""

from __future__ import annotations

import numpy as np

from podium.tasks.capabilities import PseudoCandidates, PseudoLabels
from podium.tasks.decisions.base import Decision

GROUPS = ("empty", "mask")


def map_confidence(pred: np.ndarray) -> np.ndarray:
    """(N,) mean |p - 0.5| * 2 over each (C, H, W) map."""
    p = np.asarray(pred, np.float32)
    return np.asarray(np.abs(p - 0.5).reshape(len(p), -1).mean(1) * 2)


class MaskPseudo(PseudoLabels):
    """Images as candidates: grouped empty / mask, ranked by mean pixel confidence."""

    def __init__(self, decision: Decision) -> None:
        self.decision = decision

    def candidates(self, pred: np.ndarray) -> PseudoCandidates:
        sees = (np.asarray(pred) >= 0.5).reshape(len(pred), -1).any(1)
        group = np.asarray(sees, dtype=np.int64)
        label = np.array(GROUPS, dtype=object)[group]
        return PseudoCandidates(group, len(GROUPS), map_confidence(pred), label)

    @property
    def label_names(self) -> list[str]:
        return list(GROUPS)

    def targets(self, pred: np.ndarray, soft: bool) -> np.ndarray:
        """Soft: the probabilities; hard: thresholded at 0.5 (`decided` applies the fitted
        post-processing instead, where the caller has its parameters)."""
        p = np.asarray(pred, np.float32)
        return p if soft else (p >= 0.5).astype(np.float32)

    def decided(self, pred: np.ndarray, params: np.ndarray) -> np.ndarray:
        """Hard targets: the post-processing with `params` (threshold, minimum area)."""
        return np.asarray(self.decision.apply(np.asarray(pred, np.float32), params), np.float32)
