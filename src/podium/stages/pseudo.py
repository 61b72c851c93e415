"""`podium pseudo -c configs/<comp>/pseudo.yaml`: one round of pseudo-labelling.

The story of a round (the pipeline runs the steps in this order):
1. the teacher named by `pseudo.teacher` (an experiment or an ensemble) has its predictions
   made by the pipeline (its train / oof / infer, or its ensemble), then is opened here;
2. build `runs/<comp>/<student>/pseudo.parquet`: per student fold k, the teacher's fold-k
   predictions over the unlabelled pool (test images, optional extra folder), selected by
   threshold / top fraction / caps, with hard or soft targets and loss weights
   (`podium.pseudo.teacher` explains why fold k's labels must come from fold-k models);
3. train the student, an ordinary experiment, through the shared core: fold k's pseudo rows
   join its training rows only, never its validation rows;
4. the student's oof and test predictions (`podium oof` / `podium infer`), so ensemble and
   submit treat it like any experiment, and it can teach the next round (Noisy Student);
5. `pseudo_report.md` / `.json`: rows per class, their accuracy on solution.csv, teacher vs
   student CV on the same folds and their local leaderboard scores, for every round so far.

A segmentation student (a pixelwise task) takes masks for rows: step 2 writes
`pseudo_masks/fold{k}.npy` from the teacher's fold-k maps (`podium.pseudo.masks`), step 3
trains the student's units on them (the one core, `podium.units`), step 5 reports the
pseudo-masks' Dice (`podium.pseudo.mask_report`).

`podium train -c pseudo.yaml` runs steps 1-3 (`train_student`), `report` step 5. Re-running
skips finished work; pseudo.parquet is rebuilt when the teacher's predictions or the section
change, and a student already trained on stale pseudo-labels is refused (--force retrains).
"""

from __future__ import annotations

import logging
import time

import numpy as np
import pandas as pd

from podium.artifacts import read_json, remove, write_json, write_parquet
from podium.config import Config
from podium.config.pseudo import PseudoConfig
from podium.errors import ArtifactError
from podium.experiment import Experiment
from podium.fingerprint import config_part, files_fingerprint, fingerprint
from podium.pseudo.mask_report import mask_round
from podium.pseudo.masks import student_mask_rows
from podium.pseudo.pool import extra_ids, extra_image_files
from podium.pseudo.report import (
    fold_scores,
    leaderboard_score,
    previous_rounds,
    pseudo_label_accuracy,
    rows_per_class,
    test_predictions,
    write_report,
)
from podium.pseudo.rows import Pool, PseudoRows, pseudo_frame, pseudo_labels
from podium.pseudo.teacher import Teacher, open_teacher, warn_leak
from podium.units.train import train_units, unit_started

_log = logging.getLogger(__name__)

PSEUDO_PARQUET, PSEUDO_JSON = "pseudo.parquet", "pseudo.json"


def report(cfg: Config, started: float | None = None) -> None:
    """The round's report, once the student's oof and test predictions exist."""
    t0 = started or time.time()
    exp = Experiment(cfg)
    section = cfg.section("pseudo")
    teacher = open_teacher(cfg, section.teacher_path(cfg.source), section.teacher_checkpoint)
    if exp.task.pixelwise:  # masks: images chosen, the pseudo-masks' Dice, hidden-test Dice
        current = mask_round(exp, section, teacher)
    else:
        current = round_summary(exp, section, teacher)
    write_report(exp.run_dir, previous_rounds(teacher.run_dir), current, pseudo_labels(exp.task))
    m, cv, lb = current["cv"]["metric"], current["cv"], current["leaderboard"]
    print(
        f"pseudo {cfg.name} (round {current['round']}, teacher {teacher.name}): CV {m} "
        f"teacher {_fmt(cv['teacher'])} -> student {_fmt(cv['student'])}; "
        f"LB teacher {_fmt(lb['teacher'])} -> student {_fmt(lb['student'])} "
        f"({time.time() - t0:.0f}s)\n  report: {exp.run_dir / 'pseudo_report.md'}"
    )


def train_student(
    exp: Experiment, force: bool = False, fold: int | None = None, seed: int | None = None
) -> dict:
    """Train the student's units on their labelled rows plus fold-matched pseudo rows (a
    segmentation student: pseudo-masks, `podium.pseudo.masks`)."""
    rebuild = force and fold is None and seed is None
    if exp.task.pixelwise:
        extra, fp = student_mask_rows(exp, force=rebuild)
    else:
        rows, fp = student_rows(exp, force=rebuild)
        extra = rows.for_fold
    return train_units(
        exp, force=force, fold=fold, seed=seed, extra_rows=extra, extra_fingerprint=fp
    )


def student_rows(exp: Experiment, force: bool = False) -> tuple[PseudoRows, str]:
    """pseudo.parquet made (or checked fresh) and its fingerprint, which the student's unit
    stamps record: before the units train, here or in their own processes (`--devices`)."""
    section = exp.cfg.section("pseudo")
    # before anything touches the run folder: a student named like its teacher is refused
    teacher = open_teacher(
        exp.cfg, section.teacher_path(exp.cfg.source), section.teacher_checkpoint
    )
    rows = ensure_pseudo(exp, section, teacher, force=force)
    return rows, read_json(exp.run_dir / PSEUDO_JSON)["fingerprint"]


# ---- pseudo.parquet --------------------------------------------------------------------------


def ensure_pseudo(
    exp: Experiment, section: PseudoConfig, teacher: Teacher, force: bool = False
) -> PseudoRows:
    """pseudo.parquet, built when missing or when its inputs changed before any unit used it
    (`force`: rebuilt, for a student retrained from scratch)."""
    cfg = exp.cfg
    if not section.all_folds:
        teacher.check_leak_free()  # a leak not accepted (pseudo.teacher_checkpoint) is refused
        teacher.warn_leaky_weights(cfg.name)
    teacher.require_predictions()
    teacher.check_folds(exp.folds_hash)
    if section.all_folds:
        warn_leak(cfg.name, teacher.name)
    folder = section.extra_dir(cfg.data_dir)
    files = extra_image_files(folder, cfg.source) if folder is not None else []
    ids = extra_ids(folder, files) if folder is not None else np.array([], dtype=object)
    fp = pseudo_fingerprint(exp, section, teacher, files)
    path, record = exp.run_dir / PSEUDO_PARQUET, exp.run_dir / PSEUDO_JSON
    if not force and path.exists() and record.exists() and read_json(record)["fingerprint"] == fp:
        frame = pd.read_parquet(path)
    else:
        if not force and record.exists() and student_started(exp):
            raise ArtifactError(
                f"{path} was made from other teacher predictions or pseudo settings than now, "
                f"and student units were trained on it; re-run with --force to rebuild the "
                "pseudo-labels and retrain the student"
            )
        frame = build_pseudo(exp, section, teacher, files, ids, fp)
    return PseudoRows(exp, frame, path, files, ids)


def student_started(exp: Experiment) -> bool:
    """Some unit trained (or began training, and would resume) on the current pseudo rows."""
    return any(
        unit_started(exp, f, s) for f in range(exp.cfg.folds.n_splits) for s in exp.cfg.train.seeds
    )


def pseudo_fingerprint(
    exp: Experiment, section: PseudoConfig, teacher: Teacher, files: list
) -> str:
    return fingerprint(
        {
            "section": config_part(section),
            "teacher": str(teacher.run_dir),
            "teacher_files": teacher.predictions_fingerprints(section.all_folds),
            "extra": files_fingerprint(files, exp.comp.digests) if files else None,
            "folds": exp.folds_hash,
            "columns": exp.task.columns,
        }
    )


def build_pseudo(
    exp: Experiment,
    section: PseudoConfig,
    teacher: Teacher,
    files: list,
    ids: np.ndarray,
    fingerprint: str,
) -> pd.DataFrame:
    t0 = time.time()
    comp = exp.comp
    folds = list(range(exp.cfg.folds.n_splits))
    parts: list[tuple[str, np.ndarray, dict[int, np.ndarray]]] = []
    if section.use_test:
        test_ids = comp.test_ids.astype(object)
        parts.append(
            (
                "test",
                test_ids,
                teacher.test_predictions(folds, section.all_folds, test_ids, comp.task),
            )
        )
    if files:
        parts.append(("extra", ids, teacher.extra_predictions(folds, section.all_folds, files)))
    pool = Pool(
        ids=np.concatenate([p[1] for p in parts]),
        source=np.concatenate([np.full(len(p[1]), p[0], dtype=object) for p in parts]),
        by_fold={k: np.concatenate([p[2][k] for p in parts]) for k in parts[0][2]},
    )
    frame = pseudo_frame(pool, section, comp)
    counts = rows_per_class(frame, pseudo_labels(comp.task), list(pool.by_fold))
    remove(exp.run_dir / PSEUDO_JSON)  # first: a run killed after the parquet leaves no record
    write_parquet(exp.run_dir / PSEUDO_PARQUET, frame)
    write_json(  # last: its fingerprint marks pseudo.parquet complete
        exp.run_dir / PSEUDO_JSON,
        {
            "fingerprint": fingerprint,
            "round": teacher.round + 1,
            "leak_free": teacher.leak_free(section.all_folds),
            "teacher": {
                "name": teacher.name,
                "kind": teacher.kind,
                "run_dir": str(teacher.run_dir),
            },
            "pool": {"test": int(section.use_test) * len(comp.test_ids), "extra": len(files)},
            "rows": counts,
            "seconds": round(time.time() - t0, 2),
        },
    )
    totals = ", ".join(f"fold {k}: {sum(c.values())}" for k, c in counts.items())
    _log.info(
        f"pseudo {exp.cfg.name}: {len(pool.ids)} unlabelled rows labelled by {teacher.kind} "
        f"{teacher.name} ({_mode(section, teacher)}); "
        f"kept {totals} -> {exp.run_dir / PSEUDO_PARQUET}"
    )
    return frame


# ---- the round's figures ---------------------------------------------------------------------


def round_summary(exp: Experiment, section: PseudoConfig, teacher: Teacher) -> dict:
    comp, run_dir = exp.comp, exp.run_dir
    record = read_json(run_dir / PSEUDO_JSON)
    frame = pd.read_parquet(run_dir / PSEUDO_PARQUET)
    teacher_scores = teacher.scores(section.all_folds)
    student_scores = read_json(run_dir / "scores.json")
    ids = comp.test_ids
    return {
        "round": record["round"],
        "student": exp.cfg.name,
        "student_run_dir": str(run_dir),
        "teacher": {
            **record["teacher"],
            "mode": _mode(section, teacher),
            "checkpoint": teacher.checkpoint_note(section.all_folds),
            "labels_from": (
                "members' equal mean"
                if teacher.members and not section.all_folds
                else ("chosen candidate" if teacher.members else "its own units")
            ),
        },
        "leaks": not record.get("leak_free", not section.all_folds),
        "leak_reason": "all_folds" if section.all_folds else "checkpoint",
        "selection": section.model_dump(mode="json"),
        "pool": record["pool"],
        "rows": record["rows"],
        "pseudo_accuracy": pseudo_label_accuracy(frame, comp),
        "cv": {
            "metric": student_scores["metric"],
            "teacher": teacher_scores["cv"],
            "student": student_scores["cv"],
            "teacher_folds": fold_scores(teacher_scores),
            "student_folds": fold_scores(student_scores),
        },
        "leaderboard": {
            "teacher": leaderboard_score(
                comp, ids, teacher.submitted_test(section.all_folds, ids, comp.task)
            ),
            "student": leaderboard_score(comp, ids, test_predictions(run_dir, comp)),
        },
    }


def _mode(section: PseudoConfig, teacher: Teacher) -> str:
    if section.all_folds:
        return "all folds (leaks)"
    if not teacher.leak_free(all_folds=False):
        return "per fold, leaky weights (accepted)"
    return "leak-free per fold"


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.4f}"
