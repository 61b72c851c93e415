"""What an ensemble run leaves behind, in the experiment schema so submit, score and a
pseudo-label student treat it like any experiment: the chosen candidate's `oof.parquet` /
`test.parquet`, `scores.json` (every candidate, the nested-selection CV, the paired comparison
with the best member), `report.md` + `report.png`, the resolved config and `run.json`."""

from __future__ import annotations

from podium.artifacts import write_json
from podium.config import Config, save_resolved
from podium.ensemble.inputs import Inputs
from podium.ensemble.nested import NestedSelection
from podium.ensemble.report import Candidate, rank_key, write_report
from podium.ensemble.significance import PairedComparison, compare
from podium.metrics import scores_header
from podium.predictions import OOF, TEST, write_oof, write_test
from podium.scoring import decided_oof, report_lines


def write_outputs(
    cfg: Config,
    inputs: Inputs,
    cands: list[Candidate],
    chosen: Candidate,
    nested: NestedSelection,
    seconds: float,
) -> None:
    out, comp, task = cfg.run_dir, inputs.comp, inputs.task
    metric, loss = task.metric, task.valid_loss
    name = metric.name
    write_oof(
        out / OOF, task, comp.train_ids, inputs.fold, task.target_frame(comp.train), chosen.oof
    )
    write_test(out / TEST, task, comp.test_ids, chosen.test)
    best_member = min(
        (c for c in cands if c.is_member), key=lambda c: rank_key(c, metric.greater_is_better)
    )
    vs_best: PairedComparison | None = None
    if not chosen.is_member:
        y, fold = inputs.y, inputs.fold
        decided = (
            decided_oof(task, y, chosen.oof, fold),
            decided_oof(task, y, best_member.oof, fold),
        )
        group = comp.cfg.group_column  # a patient's rows are one unit of evidence, not many
        groups = comp.train[group].to_numpy() if group else None
        vs_best = compare(task, y, chosen.oof, best_member.oof, decided=decided, groups=groups)
    best = best_member.scores
    picked = ", ".join(sorted(set(nested.picked_by_fold.values())))
    notes = [
        f"Chosen: **{chosen.name}** by CV {name} ({loss.name} breaks ties); best single member: "
        f"{best_member.name} ({best.score:.4f}, {loss.name} {best.valid_loss:.4f}).",
        *(
            [f"Paired, on the same rows: {vs_best.summary(chosen.name, best_member.name)}."]
            if vs_best
            else []
        ),
        "Every candidate is scored on the members' folds; blend weights and meta-models for fold k "
        "were fitted on the other folds only (meta early stopping on an inner split of those rows).",
        *(
            []
            if task.stacking is None or task.stacking.has_meta_model
            else [
                f"No XGBoost stack: a {task.name} task's ensemble only blends (it has no "
                "meta-model); the blends' weights are fitted per target."
            ]
        ),
        *[
            f"Blend weights ({c.name}): {c.extra['weighting']}."
            for c in cands
            if c.kind == "blend" and "weighting" in c.extra
        ][:1],
        f"Choosing the best of {len(cands)} candidates on the same OOF rows flatters the winner: "
        f"the nested-selection CV (fold k predicted by the candidate that is best on the other "
        f"folds) is {name} {nested.score:.4f}, {loss.name} {nested.valid_loss:.4f}, against "
        f"{chosen.scores.score:.4f} / {chosen.scores.valid_loss:.4f} for the chosen "
        f"{chosen.name} (picked per fold: {picked}; {nested.describe()}).",
        f"Members: {', '.join(f'{m.name} ({m.run_dir})' for m in inputs.members)}.",
    ]
    for line in report_lines(task, chosen.scores):
        notes.append(f"The chosen candidate's decision: {line}.")
    title = f"Ensemble {cfg.name} ({comp.cfg.name})"
    write_report(out, title, cands, name, loss.name, chosen.name, notes)
    scores = {
        **scores_header(chosen.scores, metric.greater_is_better, loss.name),
        "chosen": chosen.name,
        "final": chosen.scores.to_json(),
        "nested_selection": nested.to_json(),
        "candidates": {
            c.name: {
                "kind": c.kind,
                name: c.scores.score,
                "valid_loss": c.scores.valid_loss,
                "fold_mean": c.scores.fold_mean,
                "fold_std": c.scores.fold_std,
                "valid_loss_fold_std": c.scores.valid_loss_std,
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
    write_json(
        out / "run.json",
        {
            "kind": cfg.kind.name,
            "folds_hash": inputs.folds_hash,
            "columns": task.columns,
            "members": {m.name: str(m.run_dir) for m in inputs.members},
        },
    )
