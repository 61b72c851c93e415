"""The pseudo-labelling report, `pseudo_report.md` / `.json` in the student's run folder.

Per round (a student's report carries its teacher's earlier rounds): how many rows were
chosen per class and fold, their accuracy against `solution.csv` when it exists, and the CV
of teacher and student on the same folds, with each one's local leaderboard score.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from podium.artifacts import atomic_write_text, read_json, write_json
from podium.competition import Competition
from podium.predictions import TEST, read_test

REPORT_JSON, REPORT_MD = "pseudo_report.json", "pseudo_report.md"


def rows_per_class(
    frame: pd.DataFrame, classes: list[str], folds: list[int] | None = None
) -> dict[str, dict[str, int]]:
    """{fold: {label: count}}; fold '-1' means every fold. `folds`: every student fold, so a
    fold where no row passed the selection is listed with zeros, not left out."""
    keys = sorted(set(folds or []) | {int(k) for k in frame["fold"].unique()})
    out = {}
    for fold in keys:
        counts = frame.loc[frame["fold"] == fold, "label"].value_counts()
        out[str(fold)] = {c: int(counts.get(c, 0)) for c in classes}
    return out


def pseudo_label_accuracy(frame: pd.DataFrame, comp: Competition) -> dict | None:
    """Accuracy of the test pseudo-labels against the hidden labels, per fold and overall."""
    solution = comp.solution
    test = frame[frame["source"] == "test"]
    if solution is None or test.empty:
        return None
    truth = solution.set_index(comp.cfg.id_column)[comp.cfg.target_column].astype(str)
    correct = test["label"].to_numpy() == truth.loc[test["id"]].to_numpy()
    by_fold = {
        str(k): float(correct[(test["fold"] == k).to_numpy()].mean()) for k in test["fold"].unique()
    }
    return {"by_fold": by_fold, "overall": float(correct.mean()), "rows": int(len(test))}


def leaderboard_score(comp: Competition, ids: np.ndarray, pred: np.ndarray) -> float | None:
    """The competition metric of test predictions on `solution.csv` (None without it)."""
    solution = comp.solution
    if solution is None:
        return None
    y, _ = comp.solution_targets(ids)
    return float(comp.task.metric(y, pred))


def test_predictions(run_dir: Path, comp: Competition) -> np.ndarray:
    return read_test(run_dir / TEST, comp.task, comp.test_ids)


def fold_scores(scores: dict) -> dict[str, float] | None:
    final = scores.get("final") or {}
    folds = final.get("folds")
    if not folds:
        return None
    return {k: float(v[scores["metric"]]) for k, v in folds.items()}


def previous_rounds(teacher_run_dir: Path) -> list[dict]:
    path = teacher_run_dir / REPORT_JSON
    return read_json(path)["rounds"] if path.exists() else []


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.4f}"


def render(rounds: list[dict], current: dict, classes: list[str]) -> str:
    metric = current["cv"]["metric"]
    label = current.get("label_metric")  # masks: the pseudo-masks' Dice
    lines = [
        f"# Pseudo-labelling: {current['student']} (round {current['round']})",
        "",
        f"Teacher: {current['teacher']['kind']} **{current['teacher']['name']}** "
        f"({current['teacher']['run_dir']}), {current['teacher']['mode']}.",
        f"Teacher weights: {current['teacher'].get('checkpoint', 'not recorded')}.",
        "",
    ]
    if current["leaks"] and current.get("leak_reason", "all_folds") == "all_folds":
        lines += [
            "> **Leak warning:** every student fold trained on labels from all the teacher's "
            "folds, so fold k's validation labels shaped fold k's pseudo-labels: the student's "
            "CV below is optimistic. Use `pseudo.all_folds: false` for honest figures.",
            "",
        ]
    elif current["leaks"]:
        lines += [
            "> **Leak warning:** the teacher's fold-k weights were chosen on fold k's labels "
            "(`pseudo.teacher_checkpoint: best`, accepted), so they shaped fold k's "
            "pseudo-labels: the student's CV below is optimistic. Leave "
            "`pseudo.teacher_checkpoint` unset for honest figures.",
            "",
        ]
    lines += [
        "## Rounds",
        "",
        f"| round | teacher | student | mode | pseudo rows (per fold) | pseudo-label {label or 'acc'} | "
        f"teacher CV {metric} | student CV {metric} | teacher LB | student LB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rounds:
        totals = [sum(c.values()) for c in r["rows"].values()] or [0]
        acc = r["pseudo_accuracy"]["overall"] if r["pseudo_accuracy"] else None
        lines.append(
            f"| {r['round']} | {r['teacher']['name']} | {r['student']} | {r['teacher']['mode']} | "
            f"{min(totals)}-{max(totals)} | {_fmt(acc)} | {_fmt(r['cv']['teacher'])} | "
            f"{_fmt(r['cv']['student'])} | {_fmt(r['leaderboard']['teacher'])} | "
            f"{_fmt(r['leaderboard']['student'])} |"
        )
    acc = current["pseudo_accuracy"]
    lines += [
        "",
        f"## Round {current['round']}: rows chosen per class",
        "",
        "| fold | " + " | ".join(classes) + f" | total | {label or 'accuracy'} |",
        "|---" * (len(classes) + 3) + "|",
    ]
    for fold, counts in current["rows"].items():
        fold_acc = acc["by_fold"].get(fold) if acc else None
        name = "all" if fold == "-1" else fold
        lines.append(
            f"| {name} | "
            + " | ".join(str(counts[c]) for c in classes)
            + f" | {sum(counts.values())} | {_fmt(fold_acc)} |"
        )
    teacher_folds, student_folds = current["cv"]["teacher_folds"], current["cv"]["student_folds"]
    if student_folds:
        lines += [
            "",
            f"## CV per fold ({metric}, same folds)",
            "",
            "| fold | teacher | student |",
            "|---|---|---|",
        ]
        for k, s in student_folds.items():
            lines.append(f"| {k} | {_fmt((teacher_folds or {}).get(k))} | {_fmt(s)} |")
    lines += [
        "",
        "Selection: " + ", ".join(f"{k}={v}" for k, v in current["selection"].items()) + ".",
        f"{label or 'Accuracy'} of pseudo-labels is measured on test rows against solution.csv "
        "(unseen by any stage but this report); LB = the competition metric of each one's "
        f"test{' maps' if label else '.parquet'} there.",
        "",
    ]
    return "\n".join(lines)


def write_report(run_dir: Path, rounds: list[dict], current: dict, classes: list[str]) -> None:
    all_rounds = [*rounds, current]
    write_json(run_dir / REPORT_JSON, {"rounds": all_rounds})
    atomic_write_text(run_dir / REPORT_MD, render(all_rounds, current, classes))
