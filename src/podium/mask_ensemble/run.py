"""`podium ensemble` for a pixelwise task (segmentation), which `podium.stages.ensemble` hands
over: the story of a mask ensemble run.

1. load each member's OOF and test maps, refusing a member on other folds, at another image
   size or predicted before the folds changed (`members`);
2. score, on the same folds, each candidate with its post-processing refitted CV-honestly:
   each member alone, the mean, the fitted blend, the blend behind the empty-mask gate
   (`candidates`);
3. choose by CV (pixel log-loss breaks ties), score the choice itself by nested selection
   (`podium.ensemble.nested`, the row ensemble's, unchanged), compare it with the best member
   image by image (`compare`);
4. write the chosen maps, scores.json and the report (`outputs`), so `podium submit` writes
   the run-length submission from the ensemble and `podium score` scores it.

A run whose members, folds, labels and section are unchanged is not redone (unless --force).
"""

from __future__ import annotations

import logging
import shutil
import time

import numpy as np

from podium.artifacts import read_json
from podium.config import Config
from podium.ensemble.candidates import choose
from podium.ensemble.inputs import stamp
from podium.ensemble.report import print_verdict, text_table
from podium.mask_ensemble.candidates import build_mask_candidates
from podium.mask_ensemble.members import load_mask_inputs
from podium.mask_ensemble.nested import mask_nested_selection
from podium.mask_ensemble.outputs import write_mask_outputs
from podium.mask_store import OOF_MAPS, TEST_MAPS
from podium.tracking import track_cv

_log = logging.getLogger(__name__)


def run_mask_ensemble(cfg: Config, force: bool = False) -> dict:
    """Compare and pick; returns scores.json."""
    section = cfg.section("ensemble")
    inputs = load_mask_inputs(cfg)
    task, out = inputs.task, cfg.run_dir
    metric, loss = task.metric, task.valid_loss
    record = stamp(cfg, section, inputs, out)
    outputs = [out / f for f in (OOF_MAPS, TEST_MAPS, "scores.json", "report.md")]
    if not force and record.fresh(outputs):
        scores: dict = read_json(out / "scores.json")
        _log.info(
            "ensemble %s: up to date (%s); chosen %s", cfg.name, out / "report.md", scores["chosen"]
        )
    else:
        t0 = time.time()
        out.mkdir(parents=True, exist_ok=True)
        record.invalidate()  # the gate writes its models: no stamp over half-new files
        shutil.rmtree(out / "meta", ignore_errors=True)  # no stale gates of other folds
        cands = build_mask_candidates(inputs, out / "meta")
        chosen = choose(cands, section.select, True, cfg.source)
        nested = mask_nested_selection(inputs, cands)
        write_mask_outputs(cfg, inputs, cands, chosen, nested, time.time() - t0)
        record.write(chosen=chosen.name)
        scores = read_json(out / "scores.json")
        track_cv(cfg, scores)
        print(
            f"ensemble {cfg.name}: {len(inputs.members)} segmentation members, same "
            f"{len(np.unique(inputs.fold))} folds ({time.time() - t0:.1f}s)"
        )
        print(text_table(cands, metric.name, loss.name, chosen.name))
        print(f"  report: {out / 'report.md'}")
    nested_scores = scores["nested_selection"]
    native = scores.get("cv_at_image_size")
    print_verdict(
        task,
        scores,
        f"ensemble {cfg.name}: chose {scores['chosen']}, CV {metric.name} {scores['cv']:.4f} "
        f"(in-sample {scores['in_sample']:.4f}), {loss.name} {scores['valid_loss']:.4f} "
        f"(nested-selection CV {nested_scores[metric.name]:.4f})"
        + (f"  at the images' own sizes {native:.4f}" if native is not None else ""),
    )
    return scores
