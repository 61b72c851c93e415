"""What a mask ensemble run leaves behind, in a segmentation experiment's schema so `podium
submit` and `podium score` treat it like a member: the chosen candidate's `oof_maps.npy` /
`test_maps.npy` (`podium.mask_store`), `scores.json` (the honest CV with the in-sample fit
beside it, and at the images' own sizes where they are not the maps' (`mask_scores`, as a
single run's oof scores it), the decision fitted on every OOF map for the submission, every candidate, the
nested-selection CV, the paired comparison with the best member), `report.md` +
`report.png`, the resolved config and `run.json`."""

from __future__ import annotations

from podium.artifacts import write_json
from podium.config import Config, save_resolved
from podium.ensemble.inputs import Inputs
from podium.ensemble.nested import NestedSelection
from podium.ensemble.report import Candidate, rank_key, write_report
from podium.ensemble.significance import PairedComparison
from podium.mask_ensemble.compare import compare_maps
from podium.mask_scores import cv_at_image_size
from podium.mask_store import OOF_MAPS, TEST_MAPS, write_maps
from podium.metrics import scores_header
from podium.scoring import report_lines


def write_mask_outputs(
    cfg: Config,
    inputs: Inputs,
    cands: list[Candidate],
    chosen: Candidate,
    nested: NestedSelection,
    seconds: float,
) -> None:
    out, comp, task = cfg.run_dir, inputs.comp, inputs.task
    name, loss = task.metric.name, task.valid_loss.name
    write_maps(out / OOF_MAPS, [str(i) for i in comp.train_ids], chosen.oof, inputs.fold)
    write_maps(out / TEST_MAPS, [str(i) for i in comp.test_ids], chosen.test)
    best_member = min((c for c in cands if c.is_member), key=lambda c: rank_key(c, True))
    vs_best: PairedComparison | None = None
    if not chosen.is_member:
        group = comp.cfg.group_column  # a patient's images are one unit of evidence
        groups = comp.train[group].to_numpy() if group else None
        y, fold = inputs.y, inputs.fold
        vs_best = compare_maps(task, y, fold, chosen.oof, best_member.oof, groups)
    best, decision = best_member.scores, chosen.scores.decision
    picked = ", ".join(sorted(set(nested.picked_by_fold.values())))
    notes = [
        f"Chosen: **{chosen.name}** by CV {name} ({loss} breaks ties); best single member: "
        f"{best_member.name} ({best.score:.4f}, {loss} {best.valid_loss:.4f}).",
        *(
            [
                "Paired, per image on the same images (95% bootstrap over images, or over "
                f"groups with competition.group_column): "
                f"{vs_best.summary(chosen.name, best_member.name)}."
            ]
            if vs_best
            else []
        ),
        "Every candidate's post-processing (threshold, minimum area) is refitted on its own "
        "maps, fold k's on the other folds' maps only; blend weights and the empty-mask gate "
        "for fold k were fitted on the other folds only.",
        *[f"Blend weights: {c.extra['weighting']}." for c in cands if c.kind == "blend"],
        f"Choosing the best of {len(cands)} candidates on the same OOF maps flatters the winner: "
        f"the nested-selection CV (fold k predicted by the candidate that is best on the other "
        f"folds) is {name} {nested.score:.4f}, {loss} {nested.valid_loss:.4f}, against "
        f"{chosen.scores.score:.4f} / {chosen.scores.valid_loss:.4f} for the chosen "
        f"{chosen.name} (picked per fold: {picked}; {nested.describe()}).",
        f"Members: {', '.join(f'{m.name} ({m.run_dir})' for m in inputs.members)}.",
    ]
    notes += [
        f"The chosen candidate's decision: {line}." for line in report_lines(task, chosen.scores)
    ]
    title = f"Ensemble {cfg.name} ({comp.cfg.name}, segmentation)"
    write_report(out, title, cands, name, loss, chosen.name, notes)
    scores = {
        **scores_header(chosen.scores, True, loss),
        "in_sample": decision.fit_score if decision is not None else None,
        **_at_image_size(inputs, chosen),
        "chosen": chosen.name,
        "final": chosen.scores.to_json(),
        "nested_selection": nested.to_json(),
        "candidates": {
            c.name: {
                "kind": c.kind,
                name: c.scores.score,
                "in_sample": c.scores.decision.fit_score if c.scores.decision else None,
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
            "task": task.name,
            "folds_hash": inputs.folds_hash,
            "columns": task.columns,
            "members": {m.name: str(m.run_dir) for m in inputs.members},
        },
    )


def _at_image_size(inputs: Inputs, chosen: Candidate) -> dict[str, float]:
    """`cv_at_image_size` where the train images are not all at the maps' size: the chosen
    maps decided with its fold parameters at each image's own size, as a member's oof."""
    decision = chosen.scores.decision
    if decision is None:
        return {}
    args = (inputs.comp.targets, chosen.oof, inputs.fold, decision)
    native = cv_at_image_size(inputs.task, *args)
    return {} if native is None else {"cv_at_image_size": native}
