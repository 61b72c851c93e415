"""Pseudo-masks of a segmentation student: per student fold k, the teacher's fold-k
probability maps of the unlabelled pool (test images, `pseudo.extra_images`), selected and
turned into targets, in `runs/<comp>/<student>/pseudo_masks/` (`podium.pseudo_masks`).

Leak-free as for rows (`podium.pseudo.teacher`): fold k's targets come from the teacher's
fold-k units alone, which never trained on fold k's rows, predicting with the weights it
teaches with (`podium.units.teacher_weights`: `last.pt` for a `best` teacher, since best.pt
was chosen on fold k's labels). Hard targets are decided with the post-processing the
teacher's honest CV used for fold k (its `fold_params[k]`, fitted on the other folds' OOF
maps), never with the one fitted on every row, which saw fold k's labels. Selection is
`podium.pseudo.select` over the task's candidates (`tasks.segmentation_pseudo`: whole
images, grouped empty / mask, ranked by mean pixel confidence). The teacher must be a
segmentation experiment (ensembles of masks are refused by its own validation).

`pseudo.json` (written last) records the fingerprint of what the masks were made from: the
section, the teacher's units, weights and prediction settings, the pool and the folds. The
student's units stamp that fingerprint, so new pseudo-masks make them stale.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from podium.artifacts import read_json, remove, write_json
from podium.config.pseudo import PseudoConfig
from podium.data.resize import resize_channels
from podium.engine.rows import TrainRows
from podium.errors import ArtifactError, ConfigError
from podium.experiment import Experiment
from podium.fingerprint import config_part, files_fingerprint, fingerprint
from podium.mask_data import fold_maps
from podium.pseudo.pool import extra_ids, extra_image_files, load_extra_images
from podium.pseudo.rows import Pool, no_rows_message
from podium.pseudo.select import select_rows
from podium.pseudo.teacher import Teacher, open_teacher, warn_leak
from podium.pseudo_masks import (
    ALL_FOLDS,
    PSEUDO_MASKS,
    PseudoMasks,
    read_pseudo_masks,
    write_pseudo_masks,
)
from podium.tasks.segmentation_pseudo import MaskPseudo
from podium.units.train import unit_started

_log = logging.getLogger(__name__)

PSEUDO_JSON = "pseudo.json"


def student_mask_rows(
    exp: Experiment, force: bool = False
) -> tuple[Callable[[int], TrainRows | None], str]:
    """The pseudo rows (images and float target maps) of each student fold, made or checked
    fresh, and their fingerprint, which the student's unit stamps record; they join fold k's
    training rows only (`units.train.train_units`' `extra_rows`)."""
    cfg = exp.cfg
    section = cfg.section("pseudo")
    teacher = open_teacher(cfg, section.teacher_path(cfg.source), section.teacher_checkpoint)
    if section.all_folds:
        warn_leak(cfg.name, teacher.name)
    else:
        teacher.check_leak_free()  # a leak not accepted (pseudo.teacher_checkpoint) is refused
        teacher.warn_leaky_weights(cfg.name)
    for file in ("run.json", "scores.json"):
        if not (teacher.run_dir / file).is_file():
            raise ArtifactError(
                f"{teacher.run_dir / file}: the teacher's oof is missing; run "
                f"`podium oof -c {teacher.cfg.source}`"
            )
    teacher.check_folds(exp.folds_hash)
    folder = section.extra_dir(cfg.data_dir)
    files = extra_image_files(folder, cfg.source) if folder is not None else []
    ids = extra_ids(folder, files) if folder is not None else np.array([], dtype=object)
    fp = masks_fingerprint(exp, section, teacher, files)
    record = exp.run_dir / PSEUDO_JSON
    if force or not record.is_file() or read_json(record).get("fingerprint") != fp:
        if not force and record.is_file() and _student_started(exp):
            raise ArtifactError(
                f"{exp.run_dir / PSEUDO_MASKS} was made from other teacher maps or pseudo "
                "settings than now, and student units were trained on it; re-run with --force "
                "to rebuild the pseudo-masks and retrain the student"
            )
        build(exp, section, teacher, files, ids, fp)
    return StudentMasks(exp, files, ids).for_fold, fp


def _student_started(exp: Experiment) -> bool:
    folds, seeds = range(exp.cfg.folds.n_splits), exp.cfg.train.seeds
    return any(unit_started(exp, f, s) for f in folds for s in seeds)


def _teacher_units(teacher: Experiment) -> dict[str, str]:
    out = {}
    for f in range(teacher.cfg.folds.n_splits):
        for s in teacher.cfg.train.seeds:
            path = teacher.unit_dir(f, s) / "result.json"
            if not path.is_file():
                raise ArtifactError(f"{path}: run `podium train -c {teacher.cfg.source}`")
            out[f"{f}/{s}"] = str(read_json(path).get("fingerprint", ""))
    return out


def masks_fingerprint(
    exp: Experiment, section: PseudoConfig, teacher: Teacher, files: list[Path]
) -> str:
    texp = Experiment(teacher.cfg)
    weights = teacher.sources[0].weights
    return fingerprint(
        {
            "section": config_part(section),
            "teacher": str(teacher.run_dir),
            "units": _teacher_units(texp),
            "weights": weights.checkpoint if weights is not None else None,
            "scores": read_json(teacher.run_dir / "scores.json").get("final"),
            "infer": teacher.cfg.infer.model_dump(mode="json"),
            "test": [list(exp.comp.test_ids), exp.comp.images_fingerprint("test")]
            if section.use_test
            else None,
            "extra": files_fingerprint(files, exp.comp.digests) if files else None,
            "folds": exp.folds_hash,
            "size": list(exp.cfg.data.image_size),
        }
    )


def teacher_maps(
    teacher: Teacher, images: np.ndarray, folds: list[int], all_folds: bool
) -> dict[int, np.ndarray]:
    """{student fold k: the teacher's fold-k maps of `images`} (leak-free), or {-1: every
    fold's mean with the teacher's own weights} (`all_folds`)."""
    texp = Experiment(teacher.cfg)
    if all_folds:
        return {ALL_FOLDS: np.mean([fold_maps(texp, k, images) for k in folds], axis=0)}
    weights = teacher.sources[0].weights
    checkpoint = weights.checkpoint if weights is not None else "best"
    return {k: fold_maps(texp, k, images, checkpoint) for k in folds}


def _resized(maps: np.ndarray, size: tuple[int, int], interp: int) -> np.ndarray:
    """(N, C, h, w) targets at the student's `data.image_size`."""
    if maps.shape[2:] == tuple(size):
        return maps
    h, w = size
    return np.stack(
        [resize_channels(m.transpose(1, 2, 0), h, w, interp).transpose(2, 0, 1) for m in maps]
    )


def build(
    exp: Experiment,
    section: PseudoConfig,
    teacher: Teacher,
    files: list[Path],
    ids: np.ndarray,
    fp: str,
) -> None:
    t0 = time.time()
    comp, task = exp.comp, exp.task
    pseudo = task.pseudo
    assert isinstance(pseudo, MaskPseudo)  # validation refuses pseudo: for other tasks
    texp = Experiment(teacher.cfg)
    pool_ids, source, images = [], [], []
    if section.use_test:
        pool_ids.append(comp.test_ids.astype(object))
        source.append(np.full(len(comp.test_ids), "test", dtype=object))
        images.append(texp.test_images)
    if files:
        pool_ids.append(ids)
        source.append(np.full(len(ids), "extra", dtype=object))
        images.append(load_extra_images(texp, files))
    pool = Pool(np.concatenate(pool_ids), np.concatenate(source), {})
    folds = list(range(exp.cfg.folds.n_splits))
    pool.by_fold = teacher_maps(teacher, np.concatenate(images), folds, section.all_folds)
    decision = read_json(teacher.run_dir / "scores.json")["final"]["decision"]
    out = exp.run_dir / PSEUDO_MASKS
    remove(exp.run_dir / PSEUDO_JSON)  # first: a run killed while writing leaves no record
    shutil.rmtree(out, ignore_errors=True)  # no fold file of an earlier selection survives
    counts: dict[str, dict[str, int]] = {}
    for k, maps in pool.by_fold.items():
        cands = pseudo.candidates(maps)
        rows = select_rows(cands, section)
        if section.soft:
            targets = _resized(maps[rows], exp.cfg.data.image_size, cv2.INTER_LINEAR)
        else:  # fold k decided as the teacher's honest CV decided it: without fold k's rows
            params = decision["params"] if k == ALL_FOLDS else decision["fold_params"][str(k)]
            decided = pseudo.decided(maps[rows], np.asarray(params, np.float64))
            targets = _resized(decided, exp.cfg.data.image_size, cv2.INTER_NEAREST)
        write_pseudo_masks(
            out,
            k,
            PseudoMasks(
                pool.ids[rows],
                pool.source[rows],
                cands.label[rows],
                cands.confidence[rows],
                targets,
            ),
        )
        labels = pd.Series(cands.label[rows]).value_counts()
        counts[str(k)] = {g: int(labels.get(g, 0)) for g in pseudo.label_names}
    if not any(sum(c.values()) for c in counts.values()):
        raise ConfigError(no_rows_message(pool, section, comp))
    write_json(  # last: its fingerprint marks pseudo_masks/ complete
        exp.run_dir / PSEUDO_JSON,
        {
            "fingerprint": fp,
            "round": teacher.round + 1,
            "leak_free": teacher.leak_free(section.all_folds),
            "teacher": {
                "name": teacher.name,
                "kind": teacher.kind,
                "run_dir": str(teacher.run_dir),
            },
            "pool": {"test": int(section.use_test) * len(comp.test_ids), "extra": len(files)},
            "rows": counts,
            "targets": "soft" if section.soft else "decided",
            "seconds": round(time.time() - t0, 2),
        },
    )
    totals = ", ".join(f"fold {k}: {sum(c.values())}" for k, c in counts.items())
    _log.info(
        f"pseudo {exp.cfg.name}: {len(pool.ids)} unlabelled images mapped by {teacher.name}; "
        f"kept {totals} -> {out}"
    )


class StudentMasks:
    """`for_fold(k)`: the pseudo rows student fold k trains on (fold k's and every fold's
    rows), with images from the student's own decode cache."""

    def __init__(self, exp: Experiment, files: list[Path], extra: np.ndarray) -> None:
        self.exp, self.files, self.extra = exp, files, extra
        self.folder = exp.run_dir / PSEUDO_MASKS
        self._extra_cache: np.ndarray | None = None

    def _images(self, masks: PseudoMasks) -> np.ndarray:
        shape = (len(masks.ids), *self.exp.test_images.shape[1:])
        out = np.empty(shape, np.uint8)
        for where, known in (("test", self.exp.comp.test_ids), ("extra", self.extra)):
            chosen = masks.source == where
            if not chosen.any():
                continue
            pos = pd.Index(np.asarray(known, dtype=object)).get_indexer(masks.ids[chosen])
            if (pos < 0).any():
                raise ArtifactError(
                    f"{self.folder}: {where} id {masks.ids[chosen][pos < 0][0]!r} is not in the "
                    "current pool; the data changed since the pseudo-masks were made: re-run "
                    "with --force"
                )
            pool = self.exp.test_images if where == "test" else self._extra_images()
            out[chosen] = pool[pos]
        return out

    def _extra_images(self) -> np.ndarray:
        if self._extra_cache is None:  # decoded once, whichever folds ask
            self._extra_cache = load_extra_images(self.exp, self.files)
        return self._extra_cache

    def for_fold(self, fold: int) -> TrainRows | None:
        parts = [m for k in (fold, ALL_FOLDS) if (m := read_pseudo_masks(self.folder, k))]
        parts = [m for m in parts if len(m.ids)]
        if not parts:
            return None
        images = np.concatenate([self._images(m) for m in parts])
        targets = np.concatenate([np.asarray(m.targets, np.float32) for m in parts])
        return TrainRows(images, targets)
