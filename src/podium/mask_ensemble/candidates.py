"""The mask ensemble's candidates, each scored on the members' folds with the task's decision
(threshold and minimum area) refitted CV-honestly on its own maps (`score_predictions`):

    member       each member's OOF maps alone
    mean         the plain mean of the members' maps
    blend        the weighted mean, weights for fold k fitted on the other folds (`weights`)
    blend_gate   the blend with masks the XGBoost gate calls empty emptied (`gate`), the gate
                 for fold k fitted on the other folds

Each fitted candidate carries how to refit it on a subset of the rows alone (for the nested
selection, `podium.ensemble.nested`, reused as it is: a candidate is a candidate, rows or
maps).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from podium.ensemble.inputs import Inputs
from podium.ensemble.report import Candidate
from podium.mask_ensemble.gate import FEATURES, empty_labels, gate_cv, gate_features, save_gates
from podium.mask_ensemble.weights import SEARCH_SIDE, MapBlender, blend
from podium.scoring import score_predictions
from podium.tasks.decisions.mask_area import MaskThreshold


def build_mask_candidates(inputs: Inputs, meta_dir: Path | None) -> list[Candidate]:
    task, members, y, fold = inputs.task, inputs.members, inputs.y, inputs.fold

    def candidate(name: str, kind: str, oof: np.ndarray, test: np.ndarray, **kw: Any) -> Candidate:
        return Candidate(name, kind, oof, test, score_predictions(task, y, oof, fold), **kw)

    cands = [candidate(m.name, "member", m.oof, m.test) for m in members]
    if len(members) < 2:
        return cands
    oofs, tests = [m.oof for m in members], [m.test for m in members]
    equal = np.full(len(members), 1.0 / len(members))
    cands.append(
        candidate("mean", "mean", blend(oofs, equal), blend(tests, equal), note="equal weights")
    )
    decision = task.decision  # the weights are searched on what it fits
    fitted_on = decision.fitted_on if isinstance(decision, MaskThreshold) else "dice"
    blender = MapBlender(oofs, y, fitted_on)
    blend_oof, weights = blender.cross_fit(fold)
    blend_test = blend(tests, weights.mean(axis=0))
    refit_blend = _cached(lambda rows: blender.cross_fit(fold, rows)[0])
    note = "weights fitted on the other folds (mean over folds): " + ", ".join(
        f"{m.name} {w:.2f}" for m, w in zip(members, weights.mean(axis=0), strict=True)
    )
    extra = {
        "weights_by_fold": {m.name: weights[:, i].tolist() for i, m in enumerate(members)},
        "weighting": f"simplex weights maximising {blender.metric} at the best threshold, searched "
        f"on maps shrunk to {SEARCH_SIDE} px, fitted on the other folds' OOF maps; the test "
        "maps blended with the mean of the folds' weights",
    }
    cands.append(
        candidate(
            "blend", "blend", blend_oof, blend_test, note=note, extra=extra, refit=refit_blend
        )
    )
    by_fold = extra["weights_by_fold"]
    cands.append(_gate(inputs, blend_oof, blend_test, by_fold, refit_blend, meta_dir, candidate))
    return cands


def _cached(fn: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    """`fn` of a row mask, computed once per mask (the gate refits on the blend's refit)."""
    memo: dict[bytes, np.ndarray] = {}

    def call(rows: np.ndarray) -> np.ndarray:
        key = np.packbits(rows).tobytes()
        if key not in memo:
            memo[key] = fn(rows)
        return memo[key]

    return call


def _gate(
    inputs: Inputs,
    blend_oof: np.ndarray,
    blend_test: np.ndarray,
    blend_weights: Any,
    refit_blend: Callable[[np.ndarray], np.ndarray],
    meta_dir: Path | None,
    candidate: Callable[..., Candidate],
) -> Candidate:
    members, fold = inputs.members, inputs.fold
    x = gate_features([m.oof for m in members])
    x_test = gate_features([m.test for m in members])
    labels = empty_labels(inputs.y)
    fitted = gate_cv(x, labels, blend_oof, fold, x_test, blend_test)
    specs: list[dict[str, Any]] = []
    if meta_dir is not None:
        specs = save_gates(fitted.gates, np.unique(fold), meta_dir)
    classes = inputs.y.shape[1]

    def refit(rows: np.ndarray) -> np.ndarray:
        """The gated blend of the rows of a mask, blend and gate fitted on them alone."""
        pairs = np.repeat(rows, classes)
        return gate_cv(x[pairs], labels[pairs], refit_blend(rows), fold[rows]).oof

    return candidate(
        "blend_gate",
        "stack",
        fitted.oof,
        fitted.test,
        note=f"the blend, masks emptied where an XGBoost gate on {len(FEATURES)} features per "
        f"member says empty (fitted on the other folds): {fitted.emptied} OOF masks emptied",
        extra={
            "features": [f"{m.name}:{f}" for m in members for f in FEATURES],
            "emptied_oof": fitted.emptied,
            "weights_by_fold": blend_weights,
            "gates": specs,
        },
        refit=refit,
    )
