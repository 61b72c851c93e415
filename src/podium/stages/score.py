"""`podium score SUBMISSION`: the local leaderboard. Scores a submission against the
competition's hidden `solution.csv`, like Kaggle: the whole test set and, when the solution
has a `Usage` column, its Public and Private parts."""

from __future__ import annotations

from pathlib import Path

from podium.competition import Competition
from podium.config import Config
from podium.errors import DataError
from podium.submission import score_on_solution


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
    result = score_on_solution(comp, submission)
    shown = "  ".join(f"{k} {v:.4f}" for k, v in result.items())
    print(f"score {Path(submission).name}: {comp.task.metric.name}  {shown}")
    return result
