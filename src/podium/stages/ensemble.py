"""`podium ensemble -c configs/<comp>/ensemble.yaml`: stack and blend the members' OOF
predictions, compare every candidate on the members' own folds, keep the best, submit.

The story of a run:
1. load each member's oof.parquet / test.parquet, refusing any made on other folds or ids;
2. build the level-2 features (member probabilities, optional logs, metadata, row stats);
3. score, on the same folds: each member alone, the plain mean, the weighted blend (weights
   fitted on the other folds) and the XGBoost stack (meta-model fitted on the other folds);
4. write runs/<comp>/ensemble/<name>/report.md + report.png, the meta-models (meta/*.ubj),
   and the chosen candidate's oof.parquet / test.parquet / scores.json / run.json in the
   experiment schema, so `podium submit` and `podium score` work on it unchanged;
5. write the validated submission and print its path and CV.

A run whose members and section are unchanged is not redone (unless `--force`).
`meta_cv_score(cfg, params)` is the meta-model's CV alone, for `podium tune` (mode: meta).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from podium.artifacts import (
    file_hash,
    proba_columns,
    read_json,
    require,
    write_json,
    write_parquet,
)
from podium.competition import Competition
from podium.config import Config, ConfigError, save_resolved
from podium.ensemble.blend import (
    blend_cv,
    fit_logit_weights,
    logit_weighted,
    mean_blend,
)
from podium.ensemble.features import build_level2
from podium.ensemble.members import Member, load_members
from podium.ensemble.report import Candidate, rank_key, text_table, write_report
from podium.ensemble.schema import EnsembleConfig, check_meta_params, parse_ensemble
from podium.ensemble.significance import PairedComparison, compare
from podium.ensemble.stack import stack_cv
from podium.folds import read_folds
from podium.metrics import get_metric
from podium.stages import submit
from podium.stages.oof import score_block

BUILT_IN = ("mean", "blend", "logit_blend", "stack")


@dataclass
class Inputs:
    """What every candidate is fitted and scored on."""

    comp: Competition
    members: list[Member]
    y: np.ndarray  # class indices, train.csv order
    fold: np.ndarray  # fold of each train row (folds.csv)
    folds_hash: str


def load_inputs(cfg: Config, section: EnsembleConfig) -> Inputs:
    comp = Competition.from_config(cfg)
    require(cfg.folds_path, "folds file", f"podium folds -c {cfg.source}")
    folds = read_folds(cfg.folds_path, comp)
    folds_hash = file_hash(cfg.folds_path)
    members = load_members(cfg, section.member_paths(cfg.source), comp, folds, folds_hash)
    clash = [m.name for m in members if m.name in BUILT_IN]
    if clash:
        raise ConfigError(
            f"{cfg.source}: member names {clash} clash with the candidates {BUILT_IN}"
        )
    return Inputs(comp, members, comp.targets, folds["fold"].to_numpy(), folds_hash)


def meta_cv_score(cfg: Config, params: dict[str, Any]) -> float:
    """The XGBoost meta-model's CV score (the competition metric) on the members' folds.

    `params` are XGBClassifier arguments laid over `ensemble.meta.params` (e.g. a tune trial's
    `{"max_depth": 4, "learning_rate": 0.03}`); seeds, inner split and early stopping come from
    `ensemble.meta`. Fold k is predicted by meta-models fitted on the other folds only, as in
    `podium ensemble`; nothing is written. ConfigError if `params` names a key the stage sets.
    """
    section = parse_ensemble(cfg)
    try:
        check_meta_params(params)
    except ValueError as e:
        raise ConfigError(f"{cfg.source}: meta_cv_score params: {e}") from None
    inputs = load_inputs(cfg, section)
    level2 = build_level2(inputs.members, inputs.comp, section.features)
    result = stack_cv(
        level2.train,
        level2.test[:0],
        [m.oof for m in inputs.members],
        [m.test[:0] for m in inputs.members],
        inputs.y,
        inputs.fold,
        section.meta,
        section.meta.xgb_params(params),
    )
    return get_metric(cfg.competition.metric)(inputs.y, result.oof)


def inputs_fingerprint(cfg: Config, section: EnsembleConfig, inputs: Inputs) -> str:
    """Changes when the section, the folds or any member's prediction file changes."""
    parts = {
        "section": section.model_dump(mode="json"),
        "competition": cfg.competition.model_dump(mode="json"),
        "folds": inputs.folds_hash,
        "members": {
            m.name: [file_hash(m.run_dir / "oof.parquet"), file_hash(m.run_dir / "test.parquet")]
            for m in inputs.members
        },
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


OUTPUTS = ("oof.parquet", "test.parquet", "scores.json", "report.md", "run.json")


def is_fresh(out: Path, fingerprint: str) -> bool:
    if not all((out / f).exists() for f in OUTPUTS):
        return False
    return read_json(out / "run.json").get("inputs_hash") == fingerprint


def build_candidates(
    section: EnsembleConfig, inputs: Inputs, metric: str, out: Path | None
) -> list[Candidate]:
    comp, members, y, fold = inputs.comp, inputs.members, inputs.y, inputs.fold

    def candidate(name: str, kind: str, oof: np.ndarray, test: np.ndarray, **kw) -> Candidate:
        return Candidate(name, kind, oof, test, score_block(y, oof, fold, metric), **kw)

    cands = [candidate(m.name, "member", m.oof, m.test) for m in members]
    oofs, tests = [m.oof for m in members], [m.test for m in members]
    cands.append(
        candidate("mean", "mean", mean_blend(oofs), mean_blend(tests), note="equal weights")
    )

    def weights_note(weights: np.ndarray) -> str:
        return "weights " + ", ".join(
            f"{m.name} {w:.2f}" for m, w in zip(members, weights.mean(axis=0), strict=True)
        )

    def by_fold(weights: np.ndarray) -> dict:
        return {"weights_by_fold": {m.name: weights[:, i].tolist() for i, m in enumerate(members)}}

    oof, test, w = blend_cv(oofs, tests, y, fold)
    cands.append(candidate("blend", "blend", oof, test, note=weights_note(w), extra=by_fold(w)))
    oof, test, w = blend_cv(oofs, tests, y, fold, fit_logit_weights, logit_weighted)
    cands.append(
        candidate(
            "logit_blend", "blend", oof, test, note="log-prob " + weights_note(w), extra=by_fold(w)
        )
    )
    level2 = build_level2(members, comp, section.features)
    meta_dir = None
    if out is not None:
        meta_dir = out / "meta"
        shutil.rmtree(meta_dir, ignore_errors=True)  # no stale units from other seeds/folds
    stacked = stack_cv(
        level2.train,
        level2.test,
        oofs,
        tests,
        y,
        fold,
        section.meta,
        section.meta.xgb_params(),
        save_dir=meta_dir,
    )
    trees = list(stacked.trees.values())
    prior = "" if section.meta.prior == "none" else f", boosted from the {section.meta.prior}"
    cands.append(
        candidate(
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
    )
    return cands


def choose(cands: list[Candidate], select: str, metric: str, source: str | None) -> Candidate:
    if select == "best":
        greater = get_metric(metric).greater_is_better
        return min(cands, key=lambda c: rank_key(c, metric, greater))
    by_name = {c.name: c for c in cands}
    if select not in by_name:
        raise ConfigError(
            f"{source}: ensemble.select={select!r} is not a candidate; choose 'best' or one of {list(by_name)}"
        )
    return by_name[select]


def write_outputs(
    cfg: Config,
    inputs: Inputs,
    cands: list[Candidate],
    chosen: Candidate,
    fingerprint: str,
    seconds: float,
) -> None:
    out, comp, metric = cfg.run_dir, inputs.comp, cfg.competition.metric
    columns = proba_columns(comp.classes)
    oof = pd.DataFrame(
        {
            "id": comp.train_ids,
            "fold": inputs.fold,
            "target": comp.train[comp.cfg.target_column].to_numpy(),
        }
    )
    oof[columns] = chosen.oof
    test = pd.DataFrame({"id": comp.test_ids})
    test[columns] = chosen.test
    write_parquet(out / "oof.parquet", oof)
    write_parquet(out / "test.parquet", test)
    best_member = min(
        (c for c in cands if c.kind == "member"),
        key=lambda c: rank_key(c, metric, get_metric(metric).greater_is_better),
    )
    vs_best = None
    if chosen.kind != "member":
        vs_best = compare(inputs.y, chosen.oof, best_member.oof, metric)
    notes = [
        f"Chosen: **{chosen.name}** by CV {metric} (log-loss breaks ties); best single member: "
        f"{best_member.name} ({best_member.scores[metric]:.4f}, log-loss {best_member.scores['log_loss']:.4f}).",
        *(
            [f"Paired, on the same rows: {vs_best.summary(chosen.name, best_member.name)}."]
            if vs_best
            else []
        ),
        "Every candidate is scored on the members' folds; blend weights and meta-models for fold k "
        "were fitted on the other folds only (meta early stopping on an inner split of those rows).",
        "Choosing among candidates on the same OOF rows is itself a small optimistic bias: weigh a "
        "gain against the fold-to-fold std.",
        f"Members: {', '.join(f'{m.name} ({m.run_dir})' for m in inputs.members)}.",
    ]
    write_report(out, f"Ensemble {cfg.name} ({comp.cfg.name})", cands, metric, chosen.name, notes)
    scores = {
        "metric": metric,
        "greater_is_better": get_metric(metric).greater_is_better,
        "cv": chosen.scores[metric],
        "log_loss": chosen.scores["log_loss"],
        "chosen": chosen.name,
        "final": chosen.scores,
        "candidates": {
            c.name: {
                "kind": c.kind,
                metric: c.scores[metric],
                "log_loss": c.scores["log_loss"],
                "fold_mean": c.scores["fold_mean"],
                "fold_std": c.scores["fold_std"],
                "log_loss_fold_std": c.log_loss_std(),
                "note": c.note,
                **c.extra,
            }
            for c in cands
        },
        "seconds": round(seconds, 2),
    }
    if vs_best is not None:
        scores["vs_best_member"] = {"member": best_member.name, **vs_best.to_json()}
    write_json(out / "scores.json", scores)
    save_resolved(cfg, out / "config.yaml")
    write_json(  # last: its inputs_hash marks the run complete
        out / "run.json",
        {
            "folds_hash": inputs.folds_hash,
            "config_hash": hashlib.sha256(
                json.dumps(cfg.ensemble, sort_keys=True, default=str).encode()
            ).hexdigest()[:16],
            "inputs_hash": fingerprint,
            "classes": comp.classes,
            "members": {m.name: str(m.run_dir) for m in inputs.members},
        },
    )


def _submission(cfg: Config) -> Path:
    """The newest submission of this ensemble made after its scores, else a new one."""
    scores_time = (cfg.run_dir / "scores.json").stat().st_mtime
    found = [
        p
        for p in Path(cfg.paths.submissions).glob(f"{cfg.competition.name}-{cfg.name}-cv*.csv")
        if p.stat().st_mtime >= scores_time
    ]
    if found:
        path = max(found, key=lambda p: p.stat().st_mtime)
        print(f"submission: {path} (up to date)")
        return path
    return submit.run(cfg)


def run(cfg: Config, force: bool = False) -> Path:
    """Compare and pick; returns the path of the submission written (or kept)."""
    section = parse_ensemble(cfg)
    inputs = load_inputs(cfg, section)
    out, metric = cfg.run_dir, cfg.competition.metric
    fingerprint = inputs_fingerprint(cfg, section, inputs)
    if not force and is_fresh(out, fingerprint):
        scores = read_json(out / "scores.json")
        print(f"ensemble {cfg.name}: up to date ({out / 'report.md'}); chosen {scores['chosen']}")
    else:
        t0 = time.time()
        out.mkdir(parents=True, exist_ok=True)
        cands = build_candidates(section, inputs, metric, out)
        chosen = choose(cands, section.select, metric, cfg.source)
        write_outputs(cfg, inputs, cands, chosen, fingerprint, time.time() - t0)
        print(
            f"ensemble {cfg.name}: {len(inputs.members)} members, same {len(np.unique(inputs.fold))} folds "
            f"({time.time() - t0:.1f}s)"
        )
        print(text_table(cands, metric, chosen.name))
        print(f"  report: {out / 'report.md'}")
    path = _submission(cfg)
    scores = read_json(out / "scores.json")
    if "vs_best_member" in scores:
        vs = scores["vs_best_member"]
        print("  " + PairedComparison.from_json(vs).summary(scores["chosen"], vs["member"]))
    print(
        f"ensemble {cfg.name}: chose {scores['chosen']}, CV {metric} {scores['cv']:.4f}, "
        f"log_loss {scores['log_loss']:.4f} -> {path}"
    )
    return path
