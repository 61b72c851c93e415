"""What `podium export` copies from the runs into a bundle, after checking that it is what the
current predictions were made from (a missing or stale artifact is refused with the command
that makes it): each member's inference weights (EMA / SWA / snapshots resolved, optimizer
state dropped, optionally fp16), a tabular member's models in their safe form, the stack's
meta-models, and the members' configs with local paths removed. What is copied for a config
follows its kind (`Kind.exports`); which command remakes stale scores, `Kind.predicted_by`."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from podium.artifacts import read_json, write_csv, write_json
from podium.bundle.combination import chosen_combination
from podium.bundle.masks import (
    check_mask_units,
    export_mask_combination,
    export_mask_targets,
    export_mask_units,
    mask_scores_fresh,
)
from podium.bundle.unit_weights import copy_unit_weights
from podium.config import Config, PathsConfig
from podium.config.kind import Exports, PredictedBy
from podium.engine.checkpoint import checkpoint_members
from podium.ensemble.inputs import load_inputs
from podium.ensemble.inputs import stamp as ensemble_stamp
from podium.errors import ArtifactError
from podium.experiment import Experiment
from podium.fingerprint import Stamp
from podium.metrics import DecisionSummary
from podium.predictions import OOF, TEST
from podium.submission import build_submission
from podium.tabular.fit import MODELS_JSON, tabular_parts
from podium.units.predict import infer_stamp, oof_stamp

TARGETS = "targets.csv"
DECISIONS = "decisions.json"


def inference_config(cfg: Config) -> dict[str, Any]:
    """The resolved config a member predicts with, without the machine's paths, pretrained
    weight files, external data or the sections of other stages (a student's teacher)."""
    d = cfg.resolved()
    d["paths"] = PathsConfig().model_dump(mode="json")
    d["model"].update(pretrained=False, weights=None)
    d["data"]["external"] = []
    for section in ("pseudo", "tune", "ensemble"):
        d[section] = None
    d.pop("track", None)  # trackers follow training, never a bundle's inference
    return d


def how(cfg: Config, stage: str, top: Config) -> str:
    """The command that remakes `cfg`'s artifacts of `stage`, as the user would type it."""
    if top.kind.has_members and cfg is not top:
        return f"podium {stage} -c {top.source} --exp {Path(cfg.source or '').stem}"
    return f"podium {stage} -c {cfg.source}"


def check_member(cfg: Config, top: Config) -> None:
    """Refuse a member whose artifacts are missing or stale (naming the command that makes
    them) or that has no safe form, before anything is copied."""
    exp = Experiment(cfg)
    if cfg.kind.has_members:
        raise ArtifactError(
            f"{cfg.source}: a {cfg.kind.name} config cannot be a member of a bundle"
        )
    _MEMBER_CHECKS[cfg.kind.exports](exp, top)


def _check_units(exp: Experiment, top: Config) -> None:
    """A network's units: test.parquet current with them, and no metadata network."""
    cfg = exp.cfg
    if exp.task.pixelwise:  # a mask model: its test maps (podium.bundle.masks)
        return check_mask_units(exp, how(cfg, "infer", top))
    if exp.metadata_layout is not None:
        raise ArtifactError(
            f"{cfg.source}: its network reads competition.metadata, whose categories come from "
            "train.csv, which a bundle does not carry yet; export a member with "
            "model.metadata.use: false"
        )
    record = infer_stamp(exp)  # refuses untrained or stale units, with the command
    if not record.fresh([exp.run_dir / TEST]):
        raise ArtifactError(
            f"{exp.run_dir / TEST} is missing or older than the trained units; make it with: "
            f"{how(cfg, 'infer', top)}"
        )


def _check_tabular(exp: Experiment, top: Config) -> None:
    cfg = exp.cfg
    record = Stamp(exp.run_dir / "tabular.json", tabular_parts(exp))
    if not record.fresh([exp.run_dir / TEST]):
        raise ArtifactError(
            f"{exp.run_dir / TEST} is missing or stale (its inputs changed); make it with: "
            f"{how(cfg, 'train', top)}"
        )
    for k in range(cfg.folds.n_splits):
        fold_dir = exp.run_dir / f"fold{k}"
        listing = fold_dir / MODELS_JSON
        if not listing.is_file() or not Stamp(fold_dir / "fold.json", tabular_parts(exp)).fresh():
            raise ArtifactError(
                f"{fold_dir}: no stored models of today's fit (made by an older podium, or "
                f"stale); refit them with: {how(cfg, 'train', top)} --force"
            )
        for entry in read_json(listing).values():
            if "unsafe" in entry:
                model = cfg.section("tabular").model
                raise ArtifactError(
                    f"member {cfg.name!r}: tabular.model {model!r} cannot be exported safely "
                    f"({entry['unsafe']}; podium never pickles); use svc, logistic, ridge, "
                    "svr or (but for multilabel) xgboost, or leave the member out of the ensemble"
                )


def export_cnn(cfg: Config, bundle: Path, half: bool) -> dict[str, Any]:
    """A CNN (or pseudo-label student) member: its units' inference weights, in the run
    layout `UnitPredictor` reads (so `podium predict` runs the very code `infer` runs)."""
    exp = Experiment(cfg)
    if exp.task.pixelwise:
        entry: dict[str, Any] = {"name": cfg.name, "config": inference_config(cfg)}
        entry |= {"model": cfg.model.name, "folds": cfg.fold_ids(), "seeds": cfg.train.seeds}
        return export_mask_units(exp, bundle, half, entry | {"tta": cfg.infer.tta, "half": half})
    weights = checkpoint_members(cfg.train.checkpoint, cfg.train.cycles)
    files = copy_unit_weights(exp, bundle, weights, half)
    return {
        "name": cfg.name,
        "kind": "cnn",
        "config": inference_config(cfg),
        "model": cfg.model.name,
        "folds": cfg.fold_ids(),
        "seeds": cfg.train.seeds,
        "weights": weights,
        "checkpoints": files,
        "tta": cfg.infer.tta,
        "merge": cfg.infer.merge,
        "half": half,
    }


def export_tabular(cfg: Config, bundle: Path, half: bool = False) -> dict[str, Any]:
    """A tabular member: each fold's seed models, in their safe (non-pickle) form (stored as
    fitted: `half` is for network weights)."""
    exp = Experiment(cfg)
    dest = bundle / "runs" / cfg.competition.name / cfg.name
    files = []
    folds = list(range(cfg.folds.n_splits))
    for k in folds:
        fold_dir = exp.run_dir / f"fold{k}"
        for entry in read_json(fold_dir / MODELS_JSON).values():
            for name in entry["files"]:
                target = dest / f"fold{k}" / name
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(fold_dir / name, target)
                files.append(target.relative_to(bundle).as_posix())
    return {
        "name": cfg.name,
        "kind": "tabular",
        "config": inference_config(cfg),
        "model": cfg.section("tabular").model,
        "folds": folds,
        "seeds": cfg.train.seeds,
        "models": files,
    }


def export_combination(cfg: Config, bundle: Path) -> dict[str, Any]:
    """An ensemble's chosen candidate and what it needs: blend weights, or the stack's
    meta-models and prior. Refused when the ensemble is not current with its members."""
    if Experiment(cfg).task.pixelwise:  # an ensemble of maps (podium.mask_ensemble)
        return export_mask_combination(cfg, bundle)
    section = cfg.section("ensemble")
    inputs = load_inputs(cfg, section)  # refuses missing member predictions, with the command
    out = cfg.run_dir
    fresh = ensemble_stamp(cfg, section, inputs, out).fresh([out / TEST, out / "scores.json"])
    members = [m.name for m in inputs.members]
    cand, combination = chosen_combination(out, fresh, members, "predictions", cfg.source)
    if cand["kind"] != "member":  # how the combination met the test rows (fold by fold?)
        combination["test_views"] = inputs.views.kind
    if cand["kind"] == "blend":
        combination["weights_by_fold"] = cand["weights_by_fold"]
    if cand["kind"] == "stack":
        if section.features.metadata:
            raise ArtifactError(
                f"{cfg.source}: ensemble.features.metadata: a stack over metadata columns "
                "cannot be exported yet (their categories come from train.csv)"
            )
        meta = out / "meta"
        units = [(int(k), s) for k in sorted(set(inputs.fold.tolist())) for s in section.meta.seeds]
        names = [f"fold{k}_seed{s}.ubj" for k, s in units] + ["prior.json"]
        for name in names:
            if not (meta / name).is_file():
                raise ArtifactError(
                    f"{meta / name} not found; remake the ensemble: podium ensemble -c "
                    f"{cfg.source} --force"
                )
            (bundle / "ensemble" / "meta").mkdir(parents=True, exist_ok=True)
            shutil.copyfile(meta / name, bundle / "ensemble" / "meta" / name)
        combination.update(
            meta_units=units,
            features=section.features.model_dump(mode="json"),
            prior=cand.get("prior"),
        )
    return combination


def export_targets(cfg: Config, bundle: Path) -> None:
    """The train targets as written in train.csv, with row numbers for ids: all the task
    needs to rebuild its schema (classes, a regression's range) without train.csv."""
    comp = Experiment(cfg).comp
    if comp.task.pixelwise:  # the classes are the config's: no masks travel
        return export_mask_targets(cfg, bundle, TARGETS)
    targets = comp.train[comp.cfg.target_names].reset_index(drop=True)
    frame = pd.concat([pd.DataFrame({comp.cfg.id_column: range(len(targets))}), targets], axis=1)
    write_csv(bundle / TARGETS, frame)


def export_decisions(cfg: Config, bundle: Path) -> str | None:
    """What the submission decides with, fitted on every OOF row of the exported run (its
    scores.json `final.decision`: multilabel thresholds, ordinal cut-points), written to
    DECISIONS; None where the task decides nothing. The scores must be
    current, and the pipeline's submission is built with exactly what is carried: a decision
    `podium submit` would refuse is refused here, with its command."""
    exp = Experiment(cfg)
    task, scores = exp.task, cfg.run_dir / "scores.json"
    if task.decision is None:
        return None
    remake = f"podium {cfg.kind.predicted_by} -c {cfg.source}"
    if not _SCORES_FRESH[cfg.kind.predicted_by](exp, scores):
        raise ArtifactError(
            f"{scores} is missing or older than the run's models; the submission decides with "
            f"it ({task.decision.kind}); make it with: {remake}"
        )
    carried = (read_json(scores).get("final") or {}).get("decision")
    summary = DecisionSummary.from_json(carried) if carried else None
    build_submission(exp.comp, cfg.run_dir, (summary, str(scores)))  # refuses what submit would
    write_json(bundle / DECISIONS, {"run": cfg.name, "decision": carried})
    return DECISIONS


# how a member's artifacts are checked current, and copied, by what its kind exports
_MEMBER_CHECKS: dict[Exports, Callable[[Experiment, Config], None]] = {
    "unit_weights": _check_units,
    "models": _check_tabular,
}
MEMBER_EXPORTS: dict[Exports, Callable[[Config, Path, bool], dict[str, Any]]] = {
    "unit_weights": export_cnn,
    "models": export_tabular,
}


def _ensemble_scores_fresh(exp: Experiment, scores: Path) -> bool:
    return scores.is_file()  # export_combination checked the ensemble current with its members


def _tabular_scores_fresh(exp: Experiment, scores: Path) -> bool:
    return Stamp(exp.run_dir / "tabular.json", tabular_parts(exp)).fresh([scores])


def _oof_scores_fresh(exp: Experiment, scores: Path) -> bool:
    if exp.task.pixelwise:
        return mask_scores_fresh(exp, scores)
    return oof_stamp(exp).fresh([exp.run_dir / OOF, scores])


# whether scores.json is current, by the command that writes the run's predictions
_SCORES_FRESH: dict[PredictedBy, Callable[[Experiment, Path], bool]] = {
    "ensemble": _ensemble_scores_fresh,
    "train": _tabular_scores_fresh,
    "oof": _oof_scores_fresh,
}
