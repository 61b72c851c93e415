"""`podium ensemble -c configs/<comp>/ensemble.yaml`: stack and blend the members' OOF
predictions, compare every candidate on the members' own folds, keep the best.

The story of a run:
1. load each member's oof.parquet / test.parquet, refusing any made on other folds or ids;
2. score, on the same folds: each member alone, the plain mean, the task's fitted blends
   (weights fitted on the other folds) and the XGBoost stack (meta-model fitted on the other
   folds, on level-2 features built from the members' predictions);
3. choose by CV (log-loss breaks ties), and score the choice itself honestly (nested
   selection: fold k predicted by the candidate best on the other folds);
4. write runs/<comp>/ensemble/<name>/report.md + report.png, the meta-models (meta/*.ubj),
   and the chosen candidate's prediction files and scores.json in the experiment schema, so
   `podium submit` (which the pipeline runs next) and `podium score` work on it unchanged.

A run whose members, labels, folds and section are unchanged is not redone (unless `--force`).
A pixelwise task's members predict dense maps, not rows: its ensemble is
`podium.mask_ensemble`'s (blends of maps, an empty-mask gate, the same nested selection).
"""

from __future__ import annotations

import logging
import time

import numpy as np

from podium.artifacts import read_json
from podium.config import Config
from podium.ensemble.candidates import build_candidates, choose
from podium.ensemble.inputs import load_inputs, stamp
from podium.ensemble.nested import nested_selection
from podium.ensemble.outputs import write_outputs
from podium.ensemble.report import print_verdict, text_table
from podium.mask_ensemble.run import run_mask_ensemble
from podium.predictions import OOF, TEST
from podium.tasks import task_type
from podium.tracking import track_cv

_log = logging.getLogger(__name__)


def run(cfg: Config, force: bool = False) -> dict:
    """Compare and pick; returns scores.json."""
    if task_type(cfg.competition).pixelwise:  # dense maps (segmentation)
        return run_mask_ensemble(cfg, force)
    section = cfg.section("ensemble")
    inputs = load_inputs(cfg, section)
    task = inputs.task
    out, metric, loss = cfg.run_dir, task.metric, task.valid_loss
    record = stamp(cfg, section, inputs, out)
    outputs = [out / f for f in (OOF, TEST, "scores.json", "report.md")]
    if not force and record.fresh(outputs):
        scores: dict = read_json(out / "scores.json")
        _log.info(
            "ensemble %s: up to date (%s); chosen %s", cfg.name, out / "report.md", scores["chosen"]
        )
    else:
        t0 = time.time()
        out.mkdir(parents=True, exist_ok=True)
        record.invalidate()  # the candidates write meta-models: no stamp over half-new files
        cands = build_candidates(section, inputs, out)
        chosen = choose(cands, section.select, metric.greater_is_better, cfg.source)
        nested = nested_selection(inputs, cands)
        write_outputs(cfg, inputs, cands, chosen, nested, time.time() - t0)
        record.write(chosen=chosen.name)
        track_cv(cfg, read_json(out / "scores.json"))  # the trackers of `track:`, if any
        print(
            f"ensemble {cfg.name}: {len(inputs.members)} members, same "
            f"{len(np.unique(inputs.fold))} folds ({time.time() - t0:.1f}s)"
        )
        print(text_table(cands, metric.name, loss.name, chosen.name))
        print(f"  report: {out / 'report.md'}")
        scores = read_json(out / "scores.json")
    nested = scores["nested_selection"]
    print_verdict(
        task,
        scores,
        f"ensemble {cfg.name}: chose {scores['chosen']}, CV {metric.name} {scores['cv']:.4f}, "
        f"{loss.name} {scores['valid_loss']:.4f} (nested-selection CV "
        f"{nested[metric.name]:.4f}, {loss.name} {nested['valid_loss']:.4f})",
    )
    return scores
