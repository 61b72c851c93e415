"""The figures of a segmentation student's round, in the shape `podium.pseudo.report`
renders (`pseudo_report.md` / `.json`, earlier rounds carried from the teacher's report).

Per round: the images chosen per fold (empty / mask), the Dice of the test pseudo-masks
against solution.csv's masks where it exists (in place of a classifier's accuracy; soft
targets thresholded at 0.5), teacher vs student CV on the same folds (each one's honest
post-processed CV from its scores.json), and each one's hidden-test Dice: its test maps
decided with its post-processing fitted on every OOF row, scored at the model's size
against the solution's masks resized there (as the CV is scored).
"""

from __future__ import annotations

import numpy as np

from podium.artifacts import read_json
from podium.competition import Competition
from podium.config.pseudo import PseudoConfig
from podium.experiment import Experiment
from podium.mask_data import resize_masks
from podium.mask_store import TEST_MAPS, read_maps
from podium.pseudo.teacher import Teacher
from podium.pseudo_masks import PSEUDO_MASKS, read_pseudo_masks


def _solution_masks(comp: Competition, ids: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    y, _ = comp.solution_targets(ids)
    return resize_masks(y, size).astype(bool)


def pseudo_dice(exp: Experiment, folds: list[str]) -> dict | None:
    """Mean Dice of the test pseudo-masks against the hidden masks, per fold and overall."""
    comp = exp.comp
    if comp.solution is None:
        return None
    by_fold: dict[str, float] = {}
    every: list[float] = []
    for key in folds:
        masks = read_pseudo_masks(exp.run_dir / PSEUDO_MASKS, int(key))
        if masks is None:
            continue
        test = masks.source == "test"
        if not test.any():
            continue
        y = _solution_masks(comp, masks.ids[test], exp.cfg.data.image_size)
        dice = [
            float(comp.task.metric(y[i : i + 1], np.asarray(masks.targets[test][i : i + 1]) >= 0.5))
            for i in range(len(y))
        ]
        by_fold[key] = float(np.mean(dice))
        every += dice
    if not every:
        return None
    return {"by_fold": by_fold, "overall": float(np.mean(every)), "rows": len(every)}


def hidden_test_dice(exp: Experiment) -> float | None:
    """The run's test maps decided as its submission decides them, scored on solution.csv."""
    comp, task = exp.comp, exp.task
    if comp.solution is None or task.decision is None:
        return None
    ids = [str(i) for i in comp.test_ids]
    maps = read_maps(exp.run_dir / TEST_MAPS, ids)
    decision = read_json(exp.run_dir / "scores.json")["final"]["decision"]
    decided = task.decision.apply(maps, np.asarray(decision["params"], np.float64))
    y = _solution_masks(comp, comp.test_ids, maps.shape[2:])
    return float(task.metric(y, decided))


def mask_round(exp: Experiment, section: PseudoConfig, teacher: Teacher) -> dict:
    """The round's figures (`podium.pseudo.report.write_report`'s `current`)."""
    record = read_json(exp.run_dir / "pseudo.json")
    teacher_exp = Experiment(teacher.cfg)
    teacher_scores = read_json(teacher.run_dir / "scores.json")
    student_scores = read_json(exp.run_dir / "scores.json")
    mode = (
        "all folds (leaks)"
        if section.all_folds
        else "per fold, leaky weights (accepted)"
        if not teacher.leak_free(all_folds=False)
        else "leak-free per fold"
    )
    return {
        "round": record["round"],
        "student": exp.cfg.name,
        "student_run_dir": str(exp.run_dir),
        "teacher": {
            **record["teacher"],
            "mode": mode,
            "checkpoint": teacher.checkpoint_note(section.all_folds),
            "labels_from": "its own units",
        },
        "targets": record["targets"],
        "leaks": not record["leak_free"],
        "leak_reason": "all_folds" if section.all_folds else "checkpoint",
        "selection": section.model_dump(mode="json"),
        "pool": record["pool"],
        "rows": record["rows"],
        "label_metric": "Dice",
        "pseudo_accuracy": pseudo_dice(exp, list(record["rows"])),
        "cv": {
            "metric": student_scores["metric"],
            "teacher": teacher_scores["cv"],
            "student": student_scores["cv"],
            "teacher_folds": teacher_scores.get("folds"),
            "student_folds": student_scores.get("folds"),
        },
        "leaderboard": {
            "teacher": hidden_test_dice(teacher_exp),
            "student": hidden_test_dice(exp),
        },
    }
