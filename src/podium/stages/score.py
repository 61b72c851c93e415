"""`podium score SUBMISSION`: the local leaderboard. Scores a submission against the
competition's hidden `solution.csv`, like Kaggle: the whole test set and, when the solution
has a `Usage` column, its Public and Private parts."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from podium.competition import Competition
from podium.config import Config
from podium.errors import DataError
from podium.submission import read_submission, target_columns, validate_submission


def latest_submission(cfg: Config) -> Path:
    found = sorted(
        Path(cfg.paths.submissions).glob(f"{cfg.competition.name}-{cfg.name}-cv*.csv"),
        key=lambda p: p.stat().st_mtime,
    )
    if not found:
        raise DataError(
            f"no submission of {cfg.name} in {cfg.paths.submissions}/; run `podium submit -c {cfg.source}`"
        )
    return found[-1]


def run(cfg: Config, submission: Path | None = None) -> dict[str, float]:
    """Score `submission` (default: this config's newest) on the hidden labels."""
    comp = Competition.from_config(cfg)
    submission = submission or latest_submission(cfg)
    sub = read_submission(submission)
    validate_submission(comp, sub, str(submission))
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
    result = {name: metric(y[m], pred[m]) for name, m in parts.items() if m.any()}
    shown = "  ".join(f"{k} {v:.4f}" for k, v in result.items())
    print(f"score {Path(submission).name}: {metric.name}  {shown}")
    return result
