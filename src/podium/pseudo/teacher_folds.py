"""A teacher experiment's per-fold predictions of the test pool with the weights it teaches
with (`podium.units.teacher_weights`: a fixed schedule's unless the student accepts `best`).

`podium infer` wrote `test_by_fold.parquet` with the teacher's own `train.checkpoint`; where
that is the checkpoint it teaches with, the file is read. Otherwise (a `best` teacher teaching
with `last`) the teacher's fold-k units predict the test images here, with its TTA views and
merge, and the fingerprint of pseudo.parquet records those units, weights and settings
instead of the file's hash."""

from __future__ import annotations

import numpy as np

from podium.artifacts import file_hash
from podium.config import Config
from podium.experiment import Experiment
from podium.fingerprint import fingerprint
from podium.predictions import TEST_BY_FOLD
from podium.units.predict import UnitPredictor, prediction_settings, trained_fingerprints
from podium.units.teacher_weights import TeacherWeights, teacher_weights

KEY = "pseudo.teacher_checkpoint"


def teaches_with(cfg: Config, asked: str | None) -> TeacherWeights:
    """The weights a CNN teacher's fold-k units teach with; a leak not accepted is refused."""
    return teacher_weights(cfg, asked, KEY, f"pseudo teacher {cfg.name!r}")


def predicts_here(cfg: Config, weights: TeacherWeights | None) -> bool:
    """Its test_by_fold.parquet holds other weights' predictions than it teaches with."""
    return weights is not None and weights.checkpoint != cfg.train.checkpoint


def predict_test_by_fold(
    cfg: Config, weights: TeacherWeights, folds: list[int]
) -> dict[int, np.ndarray]:
    """{fold k: the fold-k units' merged predictions of the test images} with `weights`."""
    exp = Experiment(cfg)
    logits = UnitPredictor(exp).test_logits(
        exp.test_images, metadata=exp.test_metadata, checkpoint=weights.checkpoint
    )
    return {k: exp.task.merge(logits[k], cfg.infer.merge) for k in folds}


def test_by_fold_fingerprint(cfg: Config, weights: TeacherWeights | None) -> str:
    """What the per-fold labels come from: test_by_fold.parquet's content, or the units,
    weights and settings they are predicted with here."""
    if weights is None or not predicts_here(cfg, weights):
        return file_hash(cfg.run_dir / TEST_BY_FOLD)
    exp = Experiment(cfg)
    return fingerprint(
        {
            "units": trained_fingerprints(exp, list(range(cfg.folds.n_splits))),
            "settings": {**prediction_settings(exp), "checkpoint": weights.checkpoint},
            "test": [list(exp.comp.test_ids), exp.comp.images_fingerprint("test")],
        }
    )
