"""`podium train` for a config with a `tabular:` section: a level-1 member that is a
scikit-learn or XGBoost model on rows of features of the images, not a CNN: their pixels, or
their HOG (`tabular.features`, `podium.tabular.features`). It is fitted per fold on the
competition's folds.csv (fold k's rows predicted by the model fitted on the other folds), so
it can sit in an ensemble beside the CNNs, and it writes the experiment's prediction files
itself (oof.parquet, test.parquet, test_by_fold.parquet, scores.json): its oof and infer are
its training.

Pixels are scaled to [0, 1]. sklearn models are not saved (predictions are kept instead;
podium never pickles); XGBoost models are saved in XGBoost's JSON format. Skipped when
`tabular.json` records the same section, seeds, folds, labels and images; a finished fold is
not refitted, so a killed run resumes.
"""

from __future__ import annotations

import logging
import time

import numpy as np

from podium.artifacts import write_json
from podium.config import save_resolved
from podium.experiment import Experiment
from podium.fingerprint import Stamp
from podium.metrics import scores_header
from podium.predictions import OOF, TEST, TEST_BY_FOLD, write_oof, write_test, write_test_by_fold
from podium.scoring import report_lines, score_predictions
from podium.tabular.features import feature_rows
from podium.tabular.fit import fit_fold, tabular_parts
from podium.tracking import track_cv

_log = logging.getLogger(__name__)


def run(exp: Experiment, force: bool = False) -> None:
    cfg, comp, task = exp.cfg, exp.comp, exp.task
    section = cfg.section("tabular")
    parts = tabular_parts(exp)
    record = Stamp(exp.run_dir / "tabular.json", parts)
    outputs = [exp.run_dir / f for f in (OOF, TEST, TEST_BY_FOLD, "scores.json")]
    if not force and record.fresh(outputs):
        _log.info("tabular %s: up to date (%s)", cfg.name, exp.run_dir / OOF)
        return
    t0 = time.time()
    record.invalidate()  # before any output: a run killed among them leaves no stamp
    save_resolved(cfg, exp.run_dir / "config.yaml")
    write_json(exp.run_dir / "run.json", {"kind": cfg.kind.name, "folds_hash": exp.folds_hash})
    x, x_test = feature_rows(exp, section)
    oof = np.zeros((len(x), len(task.columns)))  # prediction columns
    by_fold = {}
    for k in range(cfg.folds.n_splits):
        rows = exp.fold_of_row == k
        oof[rows], by_fold[k] = fit_fold(exp, section, k, x, x_test, parts)
    final = score_predictions(task, comp.targets, oof, exp.fold_of_row)
    scores = {
        **scores_header(final, task.metric.greater_is_better, task.valid_loss.name),
        "settings": {"tabular": section.model_dump(mode="json"), "seeds": cfg.train.seeds},
        "final": final.to_json(),
        "seconds": round(time.time() - t0, 2),
    }
    write_test_by_fold(exp.run_dir / TEST_BY_FOLD, task, comp.test_ids, by_fold)
    write_test(exp.run_dir / TEST, task, comp.test_ids, np.mean(list(by_fold.values()), axis=0))
    target = task.target_frame(comp.train)
    write_oof(exp.run_dir / OOF, task, comp.train_ids, exp.fold_of_row, target, oof)
    write_json(exp.run_dir / "scores.json", scores)
    record.write(cv=scores["cv"])
    track_cv(cfg, scores)  # the trackers of `track:`, if any (a failure is a warning)
    _log.info(
        "tabular %s: %s on %d %s, %d folds: CV %s %.4f  %s %.4f  (%ss)",
        cfg.name,
        section.model,
        x.shape[1],
        "pixel values" if section.features == "pixels" else "HOG features",
        cfg.folds.n_splits,
        scores["metric"],
        scores["cv"],
        scores["valid_loss_name"],
        scores["valid_loss"],
        scores["seconds"],
    )
    for line in report_lines(task, final):  # thresholds, cut-points
        _log.info("tabular %s: %s", cfg.name, line)
