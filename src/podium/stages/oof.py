"""`podium oof`: each fold's validation rows predicted by that fold's models (mean over
seeds) with the configured TTA views, and the honest CV score.

Writes `oof.parquet` (id, fold, target, prediction columns) and `scores.json`: the metric and
the validation loss per fold and overall, for each TTA view alone and for the merged TTA, so
the gain from TTA is visible. It also scores the other checkpoint choice (best vs last):
picking the best epoch on the fold the OOF is scored on makes `best` optimistic, and the gap
says by how much. With `train.checkpoint: snapshots` it scores each snapshot alone too. Skipped when `oof.json` records the same units and prediction settings.
"""

from __future__ import annotations

import logging
import time

import numpy as np

from podium import mask_units
from podium.artifacts import write_json
from podium.experiment import Experiment
from podium.fingerprint import Stamp
from podium.metrics import scores_header
from podium.predictions import OOF, write_oof
from podium.scoring import report_lines, score_predictions
from podium.tracking import track_cv
from podium.units.predict import UnitPredictor, oof_stamp, prediction_settings

_log = logging.getLogger(__name__)


def stamp(exp: Experiment) -> Stamp:
    return oof_stamp(exp)


def run(exp: Experiment, force: bool = False) -> None:
    cfg, task = exp.cfg, exp.task
    if task.pixelwise:  # segmentation: probability maps and the honest post-processing CV
        mask_units.oof(exp, force=force)
        return
    record = stamp(exp)  # refuses units that are missing or trained from other inputs
    if not force and record.fresh([exp.run_dir / OOF, exp.run_dir / "scores.json"]):
        _log.info("oof %s: up to date (%s)", cfg.name, exp.run_dir / OOF)
        return
    t0 = time.time()
    comp, views, merge = exp.comp, cfg.infer.tta, cfg.infer.merge
    y, fold_of_row = comp.targets, exp.fold_of_row
    n, c = len(y), task.num_outputs
    predictor = UnitPredictor(exp)
    other = "last" if cfg.train.checkpoint == "best" else "best"
    # logits[checkpoint][v] = (S * K, N, C) over seeds (x K snapshots), rows filled by fold;
    # with studies of several series, x R replicas of a study's series (podium.series.studies)
    replicas = exp.train_studies.replicas if exp.train_studies is not None else 1
    logits = {
        ck: np.zeros(
            (len(views), replicas * len(cfg.train.seeds) * len(predictor.members(ck)), n, c),
            np.float32,
        )
        for ck in (cfg.train.checkpoint, other)
    }
    for k in range(cfg.folds.n_splits):
        rows = np.flatnonzero(fold_of_row == k)
        images, studies = exp.train_rows(rows)
        meta = exp.train_metadata[rows] if exp.train_metadata is not None else None
        for ck in logits:
            for s, out in enumerate(predictor.per_seed(k, images, views, ck, meta, studies)):
                logits[ck][:, s, rows] = out

    def merged(ck: str, v: list[int], members: slice = slice(None)) -> np.ndarray:
        block = logits[ck][v][:, members]  # (len(v), S [x K], N, C)
        return task.merge(block.reshape(-1, n, c), merge)

    every_view = list(range(len(views)))

    def scored(pred: np.ndarray) -> dict:
        return score_predictions(task, y, pred, fold_of_row).to_json()

    pred = merged(cfg.train.checkpoint, every_view)
    final = score_predictions(task, y, pred, fold_of_row)
    scores = {
        **scores_header(final, task.metric.greater_is_better, task.valid_loss.name),
        "settings": prediction_settings(exp),
        "final": final.to_json(),
        "views": {view: scored(merged(cfg.train.checkpoint, [i])) for i, view in enumerate(views)},
        f"{other}_checkpoint": scored(merged(other, every_view)),
        "seconds": round(time.time() - t0, 2),
    }
    snapshots = predictor.members(cfg.train.checkpoint)
    if len(snapshots) > 1:  # each snapshot alone (over seeds and views); "final" is their mean
        scores["snapshots"] = {
            name: scored(merged(cfg.train.checkpoint, every_view, slice(j, None, len(snapshots))))
            for j, name in enumerate(snapshots)
        }
    record.invalidate()  # before the outputs: a run killed among them leaves no stamp
    write_oof(
        exp.run_dir / OOF, task, comp.train_ids, fold_of_row, task.target_frame(comp.train), pred
    )
    write_json(exp.run_dir / "scores.json", scores)
    record.write(cv=scores["cv"])
    track_cv(cfg, scores)  # the trackers of `track:`, if any (a failure is a warning)
    decision = [f"  {line}" for line in report_lines(task, final)]
    print("\n".join([format_scores(cfg.name, scores), *decision]))


def format_scores(name: str, scores: dict) -> str:
    """oof's printout of a scores.json: the CV, each view, each snapshot, the other
    checkpoint."""
    m, loss = scores["metric"], scores["valid_loss_name"]
    lines = [
        f"oof {name}: CV {m} {scores['cv']:.4f}  {loss} {scores['valid_loss']:.4f}  "
        f"({scores['seconds']}s)"
    ]
    for view, s in scores.get("views", {}).items():
        lines.append(f"  view {view:<12} {m} {s[m]:.4f}  {loss} {s['valid_loss']:.4f}")
    for name, s in scores.get("snapshots", {}).items():
        lines.append(f"  {name:<15} {m} {s[m]:.4f}  {loss} {s['valid_loss']:.4f}")
    for key in ("best_checkpoint", "last_checkpoint"):
        if key in scores:
            s = scores[key]
            lines.append(
                f"  {key.split('_')[0]} weights   {m} {s[m]:.4f}  {loss} {s['valid_loss']:.4f}"
            )
    return "\n".join(lines)
