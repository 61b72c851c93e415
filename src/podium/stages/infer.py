"""`podium infer`: test predictions with TTA, merged over views, folds and seeds
(`infer.merge`: probability mean by default, logit or geometric mean as options).

Writes `test.parquet` (id, p_<class>...) and `test_by_fold.parquet` (id, fold, p_...):
fold k's models alone, the leak-free source of pseudo-labels for a student's fold k.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from podium.artifacts import proba_columns, write_json, write_parquet
from podium.experiment import Experiment
from podium.inference import UnitPredictor, require_trained
from podium.predict import combine
from podium.stages.oof import is_fresh, prediction_settings


def run(exp: Experiment, force: bool = False) -> None:
    cfg = exp.cfg
    if not force and is_fresh(exp, ["test.parquet", "test_by_fold.parquet"], "infer.json"):
        print(f"infer {cfg.name}: up to date ({exp.run_dir / 'test.parquet'})")
        return
    folds = list(range(cfg.folds.n_splits)) if cfg.train.folds is None else cfg.train.folds
    require_trained(exp, folds)
    t0 = time.time()
    comp = exp.comp
    images = exp.test_images
    predictor = UnitPredictor(exp)
    columns = proba_columns(comp.classes)
    per_fold, everything = [], []
    for k in folds:
        logits = np.concatenate(list(predictor.per_seed(k, images, cfg.infer.tta)))  # (S*V, N, C)
        everything.append(logits)
        frame = pd.DataFrame({"id": comp.test_ids, "fold": k})
        frame[columns] = combine(logits, cfg.infer.merge)
        per_fold.append(frame)
    test = pd.DataFrame({"id": comp.test_ids})
    test[columns] = combine(np.concatenate(everything), cfg.infer.merge)
    write_parquet(exp.run_dir / "test_by_fold.parquet", pd.concat(per_fold, ignore_index=True))
    write_parquet(exp.run_dir / "test.parquet", test)
    n_models = len(folds) * len(cfg.train.seeds)
    write_json(
        exp.run_dir / "infer.json",
        {
            "settings": prediction_settings(exp),
            "folds": folds,
            "models": n_models,
            "seconds": round(time.time() - t0, 2),
        },
    )
    print(
        f"infer {cfg.name}: {len(test)} test rows x {n_models} models x {len(cfg.infer.tta)} views "
        f"({cfg.infer.merge} mean) in {time.time() - t0:.1f}s -> {exp.run_dir / 'test.parquet'}"
    )
