"""The teacher of knowledge distillation (`train.distill`): its soft targets for a student
unit's training rows, and the fingerprint that makes the unit stale when the teacher changes.

Leak-free by construction: the student's fold-k unit trains on the rows outside fold k, and
they are predicted by the teacher's fold-k models (every seed; every member of an ensemble
teacher, averaged in the task's merge space), which never saw fold k either. The teacher
predicts the student's own training images (decode cache, plus `data.external` rows), resized
on the device to its `data.image_size`, with the identity view only.
"""

from __future__ import annotations

import logging

import numpy as np

from podium.config import ConfigError
from podium.experiment import Experiment
from podium.fingerprint import fingerprint
from podium.units.predict import UnitPredictor, trained_fingerprints

_log = logging.getLogger(__name__)


class Distiller:
    """Soft targets from `teachers` (one experiment, or an ensemble's CNN members) for the
    units of `student`."""

    def __init__(self, student: Experiment, teachers: list[Experiment]) -> None:
        if student.cfg.train.distill is None:
            raise ConfigError(f"{student.cfg.source}: train.distill is not set")
        self.student, self.teachers = student, teachers
        self.temperature = student.cfg.train.distill.temperature
        for t in teachers:
            _check_teacher(student, t)
        self._cache: dict[int, tuple[int, np.ndarray]] = {}

    def fingerprint(self, fold: int) -> str:
        """What the fold's soft targets come from: each teacher's fold-k units."""
        return fingerprint({t.cfg.name: trained_fingerprints(t, [fold]) for t in self.teachers})

    def soft_targets(
        self, fold: int, images: np.ndarray, metadata: np.ndarray | None = None
    ) -> np.ndarray:
        """(N, outputs) soft targets for `images` (and their raw `metadata` rows, for a teacher
        whose network reads them), the student's fold-`fold` training rows."""
        cached = self._cache.get(fold)
        if cached is not None and cached[0] == len(images):
            return cached[1]
        distill = self.student.task.distill
        assert distill is not None  # validation refuses train.distill for a task without it
        preds = []
        for t in self.teachers:
            predictor = UnitPredictor(t)
            rows = metadata if t.metadata_layout else None
            logits = np.concatenate(
                list(predictor.per_seed(fold, images, ["identity"], metadata=rows))
            )
            preds.append(t.task.merge(logits, t.cfg.infer.merge))
        mean = np.mean(preds, axis=0)  # members averaged in prediction space
        soft = distill.targets(mean, self.temperature).astype(np.float32)
        _log.info(
            "distill %s fold %d: soft targets of %d rows from %s",
            self.student.cfg.name,
            fold,
            len(images),
            ", ".join(t.cfg.name for t in self.teachers),
        )
        self._cache[fold] = (len(images), soft)
        return soft


def _check_teacher(student: Experiment, teacher: Experiment) -> None:
    """A teacher predicts the student's rows per fold: same folds, same outputs, CNN models."""
    where = f"{student.cfg.source}: train.distill.teacher {teacher.cfg.name!r}"
    if not teacher.cfg.kind.trains_units:
        raise ConfigError(
            f"{where} is a {teacher.cfg.kind.name} experiment; a teacher predicts the student's "
            "training images with its fold-k models, so it must be a CNN experiment (or an "
            "ensemble of them)"
        )
    if teacher.folds_hash != student.folds_hash:
        raise ConfigError(f"{where} uses other folds: its fold-k models saw fold k's rows")
    if teacher.task.columns != student.task.columns:
        raise ConfigError(
            f"{where} predicts {teacher.task.columns}, the student {student.task.columns}"
        )
    if teacher.metadata_layout is not None and student.metadata_layout is None:
        raise ConfigError(
            f"{where} reads metadata: its student must read it too (model.metadata.use), so "
            "that the training rows carry it"
        )
    if teacher.cfg.data.n_channels != student.cfg.data.n_channels:
        raise ConfigError(
            f"{where} reads {teacher.cfg.data.n_channels} channels, the student "
            f"{student.cfg.data.n_channels}"
        )
