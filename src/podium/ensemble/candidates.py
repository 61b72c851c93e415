"""The ensemble's candidates, each scored on the members' folds: every member alone, the plain
mean, the task's fitted blends (weights for fold k fitted on the other folds) and the XGBoost
stack (meta-models for fold k fitted on the other folds); the choice among them; and the
nested-selection CV that says how much the choice itself flatters the chosen CV."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from podium.config import ConfigError
from podium.config.ensemble import EnsembleConfig
from podium.cross_fit import cross_fit
from podium.ensemble.blend import blend_cv, mean_blend
from podium.ensemble.features import build_level2
from podium.ensemble.inputs import Inputs
from podium.ensemble.report import Candidate, rank_key
from podium.ensemble.stack import stack_cv
from podium.scoring import score_predictions
from podium.tasks import Task


def stacking_of(task: Task) -> Any:
    """The task's stacking capability (validation refuses an ensemble without one)."""
    assert task.stacking is not None, f"a {task.name} task cannot be ensembled"
    return task.stacking


def build_candidates(section: EnsembleConfig, inputs: Inputs, out: Path | None) -> list[Candidate]:
    task, members, y, fold = inputs.task, inputs.members, inputs.y, inputs.fold

    def candidate(name: str, kind: str, oof: np.ndarray, test: np.ndarray, **kw: Any) -> Candidate:
        return Candidate(name, kind, oof, test, score_predictions(task, y, oof, fold), **kw)

    cands = [candidate(m.name, "member", m.oof, m.test) for m in members]
    oofs, tests = [m.oof for m in members], [m.test for m in members]
    cands.append(
        candidate("mean", "mean", mean_blend(oofs), mean_blend(tests), note="equal weights")
    )
    shrink = section.blend.shrink
    for name, blend in stacking_of(task).blends().items():
        oof, test, w = blend_cv(oofs, tests, y, fold, blend, shrink)
        note = f"{blend.note} " + ", ".join(
            f"{m.name} {float(np.mean(v)):.2f}"  # per-label weights: their mean
            for m, v in zip(members, w.mean(axis=0), strict=True)
        )
        if shrink:
            note += f" (shrunk {shrink:.2f} towards equal)"
        extra = {
            "weighting": weighting(shrink),
            "shrink": shrink,
            "weights_by_fold": {m.name: w[:, i].tolist() for i, m in enumerate(members)},
        }
        cands.append(candidate(name, "blend", oof, test, note=note, extra=extra))
    cands.append(_stack(section, inputs, out, candidate))
    return cands


def weighting(shrink: float) -> str:
    """How the fitted blends' weights were made, as the report and scores.json say it."""
    how = "fitted on the OOF rows (each predicted by one fold's models)"
    if shrink:
        how += f", shrunk {shrink:.2f} of the way towards equal (ensemble.blend.shrink)"
    return how + "; applied to the fold-averaged test predictions"


def _stack(
    section: EnsembleConfig, inputs: Inputs, out: Path | None, candidate: Callable[..., Candidate]
) -> Candidate:
    level2 = build_level2(inputs.members, inputs.comp, section.features)
    meta_dir = None
    if out is not None:
        meta_dir = out / "meta"
        shutil.rmtree(meta_dir, ignore_errors=True)  # no stale units from other seeds/folds
    stacked = stack_cv(
        inputs.task,
        level2.train,
        level2.test,
        [m.oof for m in inputs.members],
        [m.test for m in inputs.members],
        inputs.y,
        inputs.fold,
        section.meta,
        section.meta.xgb_params(),
        save_dir=meta_dir,
    )
    trees = list(stacked.trees.values())
    prior = "" if section.meta.prior == "none" else f", boosted from the {section.meta.prior}"
    return candidate(
        "stack",
        "stack",
        stacked.oof,
        stacked.test,
        note=f"XGBoost on {len(level2.names)} features, {len(section.meta.seeds)} seeds, "
        f"{min(trees)}-{max(trees)} trees{prior}",
        extra={
            "features": level2.names,
            "trees": stacked.trees,
            "prior": section.meta.prior,
            "prior_weights_by_fold": stacked.prior_weights,
        },
    )


def choose(cands: list[Candidate], select: str, greater: bool, source: str | None) -> Candidate:
    """The best candidate by CV (the validation loss breaks ties), or the one `select` names."""
    if select == "best":
        return min(cands, key=lambda c: rank_key(c, greater))
    by_name = {c.name: c for c in cands}
    if select not in by_name:
        raise ConfigError(
            f"{source}: ensemble.select={select!r} is not a candidate; choose 'best' or one of {list(by_name)}"
        )
    return by_name[select]


@dataclass(frozen=True)
class NestedSelection:
    """The honest CV of "pick the best candidate" as a procedure."""

    metric: str
    score: float
    valid_loss: float
    picked_by_fold: dict[int, str]

    def to_json(self) -> dict[str, Any]:
        return {
            self.metric: self.score,
            "valid_loss": self.valid_loss,
            "picked_by_fold": {str(k): v for k, v in self.picked_by_fold.items()},
        }


def nested_selection(inputs: Inputs, cands: list[Candidate]) -> NestedSelection:
    """Choosing the best of several candidates on the same OOF rows flatters the winner's
    CV. Here fold k's rows are predicted by the candidate that scores best on the *other*
    folds' rows, so the selection never sees fold k.

    The per-fold choice uses the real choice's criterion (`rank_key` of
    `score_predictions`): the metric of the rows decided CV-honestly among the other folds
    (cut-points, per-label thresholds fitted on all but one of them, never on fold k), then
    the validation loss; not the plain metric (rounded QWK, an in-sample global threshold),
    which can prefer another candidate than the one the decided metric picks. With two
    folds the other rows are a single fold and nothing can be fitted honestly on it: the
    plain metric of the predictions then. What is not refitted: a blend's or the stack's
    OOF rows on the other folds were fitted on folds that include fold k."""
    task, y, fold = inputs.task, inputs.y, inputs.fold
    greater = task.metric.greater_is_better

    def best_on(rows: np.ndarray) -> Candidate:
        def key(c: Candidate) -> tuple[float, float]:
            block = score_predictions(task, y[rows], c.oof[rows], fold[rows])
            return (-block.score if greater else block.score, block.valid_loss)

        return min(cands, key=key)

    fitted = cross_fit(
        fold,
        fit=best_on,
        apply=lambda best, rows: best.oof[rows],
        out=np.zeros_like(cands[0].oof),
    )
    block = score_predictions(task, y, fitted.oof, fold)
    picked = {int(k): c.name for k, c in zip(fitted.folds, fitted.params, strict=True)}
    return NestedSelection(task.metric.name, block.score, block.valid_loss, picked)
