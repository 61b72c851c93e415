"""`podium infer`: test predictions with TTA, merged over views, folds and seeds
(`infer.merge`: probability mean by default, logit or geometric mean as options).

Writes `test.parquet` and `test_by_fold.parquet` (fold k's models alone: the leak-free
source of pseudo-labels for a student's fold k). Skipped when `infer.json` records the same
units, folds, prediction settings and test images.
"""

from __future__ import annotations

import logging
import time

from podium import mask_units
from podium.experiment import Experiment
from podium.fingerprint import Stamp
from podium.predictions import TEST, TEST_BY_FOLD, write_test, write_test_by_fold
from podium.units.predict import UnitPredictor, infer_stamp, merge_test

_log = logging.getLogger(__name__)


def stamp(exp: Experiment) -> Stamp:
    return infer_stamp(exp)


def run(exp: Experiment, force: bool = False) -> None:
    cfg, task = exp.cfg, exp.task
    if task.pixelwise:  # segmentation: test probability maps (podium.mask_units)
        mask_units.infer(exp, force=force)
        return
    record = stamp(exp)
    outputs = [exp.run_dir / TEST, exp.run_dir / TEST_BY_FOLD]
    if not force and record.fresh(outputs):
        _log.info("infer %s: up to date (%s)", cfg.name, exp.run_dir / TEST)
        return
    folds = cfg.fold_ids()
    t0 = time.time()
    comp = exp.comp
    images = exp.test_images
    predictor = UnitPredictor(exp)
    # {fold: (S*V, N, C)}; with studies of several series, each series a member of its study
    logits = predictor.test_logits(images, metadata=exp.test_metadata, studies=exp.test_studies)
    by_fold = {k: task.merge(v, cfg.infer.merge) for k, v in logits.items()}
    record.invalidate()  # before the outputs: a run killed among them leaves no stamp
    write_test_by_fold(exp.run_dir / TEST_BY_FOLD, task, comp.test_ids, by_fold)
    write_test(
        exp.run_dir / TEST,
        task,
        comp.test_ids,
        merge_test(task, logits, cfg.infer.merge),
    )
    n_models = len(folds) * len(cfg.train.seeds)
    record.write(folds=folds, models=n_models, seconds=round(time.time() - t0, 2))
    _log.info(
        "infer %s: %d test rows x %d models x %d views (%s mean) in %.1fs -> %s",
        cfg.name,
        len(comp.test_ids),
        n_models,
        len(cfg.infer.tta),
        cfg.infer.merge,
        time.time() - t0,
        exp.run_dir / TEST,
    )
