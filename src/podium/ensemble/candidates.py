"""The ensemble's candidates, each scored on the members' folds: every member alone, the plain
mean, the task's fitted blends (weights for fold k fitted on the other folds) and the XGBoost
stack (meta-models for fold k fitted on the other folds; none where the task's stacking only
blends, `BlendStacking.has_meta_model`), each fitted one with how to refit it
on a subset of the rows (for the nested selection, `podium.ensemble.nested`); and the choice
among them."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from podium.config import ConfigError
from podium.config.ensemble import EnsembleConfig
from podium.ensemble.blend import blend_cv, mean_blend
from podium.ensemble.features import build_level2
from podium.ensemble.fold_views import FoldViews
from podium.ensemble.inputs import Inputs
from podium.ensemble.report import Candidate, rank_key
from podium.ensemble.stack import blending, stack_cv
from podium.scoring import score_predictions
from podium.tasks import Blend


def build_candidates(section: EnsembleConfig, inputs: Inputs, out: Path | None) -> list[Candidate]:
    task, members, y, fold = inputs.task, inputs.members, inputs.y, inputs.fold

    def candidate(name: str, kind: str, oof: np.ndarray, test: np.ndarray, **kw: Any) -> Candidate:
        return Candidate(name, kind, oof, test, score_predictions(task, y, oof, fold), **kw)

    # a member alone submits its own test.parquet; every combination meets the test rows
    # fold by fold where the members have them (`podium.ensemble.fold_views`)
    cands = [candidate(m.name, "member", m.oof, m.test) for m in members]
    oofs, views = [m.oof for m in members], inputs.views
    cands.append(
        candidate(
            "mean",
            "mean",
            mean_blend(oofs),
            views.mean(mean_blend(views.tests)),
            note="equal weights",
        )
    )
    shrink = section.blend.shrink
    for name, blend in blending(task).blends().items():
        oof, test, w = blend_cv(oofs, views.tests, y, fold, blend, shrink)
        test = views.mean(test)
        note = f"{blend.note} " + ", ".join(
            f"{m.name} {float(np.mean(v)):.2f}"  # per-label weights: their mean
            for m, v in zip(members, w.mean(axis=0), strict=True)
        )
        if shrink:
            note += f" (shrunk {shrink:.2f} towards equal)"
        extra = {
            "weighting": weighting(shrink, views),
            "shrink": shrink,
            "weights_by_fold": {m.name: w[:, i].tolist() for i, m in enumerate(members)},
        }
        cands.append(
            candidate(
                name,
                "blend",
                oof,
                test,
                note=note,
                extra=extra,
                refit=_blend_refit(inputs, blend, shrink),
            )
        )
    if blending(task).has_meta_model:  # else the task's stacking only blends: no stack
        cands.append(_stack(section, inputs, out, candidate))
    elif out is not None:
        shutil.rmtree(out / "meta", ignore_errors=True)  # no meta-models of another run
    return cands


def _blend_refit(inputs: Inputs, blend: Blend, shrink: float) -> Callable[[np.ndarray], np.ndarray]:
    """The blend's OOF of the rows of a mask, its weights fitted on those rows' folds alone."""
    oofs, y, fold = [m.oof for m in inputs.members], inputs.y, inputs.fold

    def refit(rows: np.ndarray) -> np.ndarray:
        part = [p[rows] for p in oofs]
        return blend_cv(part, [p[:0] for p in part], y[rows], fold[rows], blend, shrink)[0]

    return refit


def weighting(shrink: float, views: FoldViews) -> str:
    """How the fitted blends' weights were made and applied, as the report and scores.json
    say it."""
    how = "fitted on the OOF rows (each predicted by one fold's models)"
    if shrink:
        how += f", shrunk {shrink:.2f} of the way towards equal (ensemble.blend.shrink)"
    return f"{how}; {views.how}"


def _stack(
    section: EnsembleConfig, inputs: Inputs, out: Path | None, candidate: Callable[..., Candidate]
) -> Candidate:
    level2 = build_level2(inputs.members, inputs.comp, section.features, inputs.views)
    meta_dir = None
    if out is not None:
        meta_dir = out / "meta"
        shutil.rmtree(meta_dir, ignore_errors=True)  # no stale units from other seeds/folds
    oofs, params = [m.oof for m in inputs.members], section.meta.xgb_params()
    stacked = stack_cv(
        inputs.task,
        level2.train,
        level2.test,
        oofs,
        inputs.views.tests,
        inputs.y,
        inputs.fold,
        section.meta,
        params,
        save_dir=meta_dir,
    )

    def refit(rows: np.ndarray) -> np.ndarray:
        """The stack's OOF of the rows of a mask, every meta-model (and its prior's weights)
        fitted on those rows' folds alone; nothing is written."""
        x, part = level2.train[rows], [p[rows] for p in oofs]
        y, fold = inputs.y[rows], inputs.fold[rows]
        none = [p[:0] for p in part]
        return stack_cv(inputs.task, x, x[:0], part, none, y, fold, section.meta, params).oof

    trees = list(stacked.trees.values())
    prior = "" if section.meta.prior == "none" else f", boosted from the {section.meta.prior}"
    return candidate(
        "stack",
        "stack",
        stacked.oof,
        inputs.views.mean(stacked.test),
        note=f"XGBoost on {len(level2.names)} features, {len(section.meta.seeds)} seeds, "
        f"{min(trees)}-{max(trees)} trees{prior}",
        extra={
            "features": level2.names,
            "trees": stacked.trees,
            "prior": section.meta.prior,
            "prior_weights_by_fold": stacked.prior_weights,
            "test_rows": inputs.views.how,
        },
        refit=refit,
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
