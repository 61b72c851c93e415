"""The submission contract: sample_submission.csv defines the ids, their order, the columns
and what the values must be (the task says which values). A file that breaks it is refused
before it is written (submit) or scored (score), with the first offending row named.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from podium.artifacts import read_json, require
from podium.competition import Competition, read_table
from podium.errors import DataError
from podium.mask_store import TEST_MAPS, read_maps, to_size
from podium.metrics import DecisionSummary
from podium.predictions import TEST, read_test
from podium.tasks.decisions import Decision


def target_columns(comp: Competition) -> list[str]:
    return [c for c in comp.sample_submission.columns if c != comp.cfg.id_column]


# the decision fitted on every OOF row (None: the task decides nothing, or the run has no
# scores.json) and where it was read, for messages
Decisions = tuple[DecisionSummary | None, str]


def run_decisions(comp: Competition, run_dir: Path) -> Decisions:
    """What the submission of the run in `run_dir` decides with: the decision summary of its
    scores.json `final` block (required where the task decides: thresholds, cut-points)."""
    scores = run_dir / "scores.json"
    if comp.task.decision is None:
        return None, str(scores)
    require(scores, "scores", "podium oof (or ensemble)")
    summary = (read_json(scores).get("final") or {}).get("decision")
    return (DecisionSummary.from_json(summary) if summary else None), str(scores)


def build_submission(
    comp: Competition, run_dir: Path, decisions: Decisions | None = None
) -> pd.DataFrame:
    """The run's test predictions in sample_submission's shape and order, decided with
    `decisions` (default: the run's own scores.json; `podium predict`: the bundle's copy),
    through the same task hooks for `podium submit` and `podium predict`."""
    id_col = comp.cfg.id_column
    sample_ids = comp.sample_submission[id_col].to_numpy()
    task = comp.task
    summary, source = decisions if decisions is not None else run_decisions(comp, run_dir)
    if task.pixelwise:
        return _mask_submission(comp, run_dir, sample_ids, summary, source)
    pred = read_test(run_dir / TEST, task, sample_ids)
    if task.decision is not None:  # thresholds, cut-points fitted on every OOF row
        pred = task.decision.apply(pred, task.decision.params_from(summary, source))
    sub = pd.DataFrame({id_col: sample_ids})
    for column, values in task.submission.values(pred, target_columns(comp)).items():
        sub[column] = values
    return sub


def _mask_submission(
    comp: Competition,
    run_dir: Path,
    ids: np.ndarray,
    summary: DecisionSummary | None,
    source: str,
) -> pd.DataFrame:
    """Segmentation: each test image's probability maps resized to its own size, decided by
    the post-processing fitted on every OOF row (its minimum area scaled with the image),
    then run-length encoded by the task's codec."""
    task = comp.task
    assert task.decision is not None
    params = task.decision.params_from(summary, source)
    maps = read_maps(run_dir / TEST_MAPS, [str(i) for i in ids])
    shapes = task.shapes("test")  # type: ignore[attr-defined]
    decided = [
        decide_at_size(task.decision, prob, shapes[str(image_id)], params)
        for image_id, prob in zip(ids, maps, strict=True)
    ]
    sub = pd.DataFrame({comp.cfg.id_column: ids})
    masks = np.empty(len(decided), dtype=object)  # one (C, H, W) mask per row: sizes may differ
    for i, mask in enumerate(decided):
        masks[i] = mask
    for column, values in task.submission.values(masks, target_columns(comp)).items():
        sub[column] = values
    return sub


def decide_at_size(
    decision: Decision, prob: np.ndarray, shape: tuple[int, int], params: np.ndarray
) -> np.ndarray:
    """One image's (C, h, w) map resized to its (height, width) and decided with `params`
    (threshold, minimum area at the map's size, scaled with the image): (C, *shape) bool."""
    scale = (shape[0] * shape[1]) / (prob.shape[1] * prob.shape[2])
    native = to_size(prob, (int(shape[0]), int(shape[1])))[None]
    decided: np.ndarray = decision.apply(native, np.array([params[0], params[1] * scale]))[0]
    return decided


def validate_submission(comp: Competition, sub: pd.DataFrame, source: str) -> None:
    """Refuse a submission whose ids, order, columns or values do not match."""
    sample = comp.sample_submission
    id_col = comp.cfg.id_column
    if list(sub.columns) != list(sample.columns):
        raise DataError(
            f"{source}: columns {list(sub.columns)} differ from sample_submission's {list(sample.columns)}"
        )
    if len(sub) != len(sample):
        raise DataError(f"{source}: {len(sub)} rows, sample_submission has {len(sample)}")
    ids = sub[id_col].astype(str).to_numpy()
    wrong = np.flatnonzero(ids != sample[id_col].to_numpy())
    if len(wrong):
        i = int(wrong[0])
        raise DataError(
            f"{source}: line {i + 2} has id {ids[i]!r}, sample_submission has {sample[id_col].iloc[i]!r} (ids or order differ)"
        )
    for col in target_columns(comp):
        values = sub[col]
        bad = values.isna() | (values.astype(str).str.strip() == "")
        if bad.any() and not comp.task.submission.allows_empty:
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(f"{source}: line {i + 2}, column {col!r} is empty or NaN")
        comp.task.submission.check_column(values, col, source)


def read_submission(path: Path, comp: Competition | None = None) -> pd.DataFrame:
    """A submission as strings (empty cells NaN), one row per id (`comp`'s task reads a long
    run-length file so); an empty or binary file names itself."""
    sub = read_table(Path(path), "submission")
    if comp is not None:
        sub = comp.task.read_layout(comp.cfg, sub, Path(path), "submission", comp.root)
    return sub.replace("", np.nan)


def score_on_solution(comp: Competition, path: Path) -> dict[str, float]:
    """The local leaderboard: a submission file scored on the hidden `solution.csv` (the
    competition's metric), on every row ("all") and, where the solution has a `Usage`
    column, its "public" and "private" rows, like Kaggle."""
    sub = read_submission(path, comp)
    validate_submission(comp, sub, str(path))
    task = comp.task
    metric = task.metric
    y, truth = comp.solution_targets(sub[comp.cfg.id_column].to_numpy())
    if comp.cfg.submission_format == "label" and metric.needs_probabilities:
        raise DataError(
            f"metric {metric.name} needs probabilities, but the submission holds labels"
        )
    pred = task.submission.predictions(sub, target_columns(comp))
    parts = {"all": np.ones(len(sub), bool)}
    if "Usage" in truth.columns:
        for usage in ("Public", "Private"):
            parts[usage.lower()] = (truth["Usage"] == usage).to_numpy()
    return {name: metric(y[m], pred[m]) for name, m in parts.items() if m.any()}
