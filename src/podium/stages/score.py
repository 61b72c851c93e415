"""`podium score SUBMISSION`: the local leaderboard. Scores a submission against the
competition's hidden `solution.csv`, like Kaggle: the whole test set and, when the solution
has a `Usage` column, its Public and Private parts."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from podium.competition import Competition, DataError
from podium.config import Config
from podium.metrics import get_metric
from podium.submission import binary_target, read_submission, target_columns, validate_submission


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
    solution = comp.solution
    if solution is None:
        raise DataError(
            f"no solution file for {comp.cfg.name} ({comp.root / (comp.cfg.solution or 'solution.csv')}); nothing to score against"
        )
    sub = read_submission(submission)
    validate_submission(comp, sub, str(submission))
    metric = get_metric(comp.cfg.metric)
    id_col = comp.cfg.id_column
    unscored = sorted(set(sub[id_col]) - set(solution[id_col]))
    if unscored:
        raise DataError(
            f"{comp.root / comp.cfg.solution}: no label for {len(unscored)} submission id(s) "
            f"(e.g. {unscored[:3]})"
        )
    truth = solution.set_index(id_col).loc[sub[id_col]]
    y = comp.encode(truth[comp.cfg.target_column])
    if comp.cfg.submission_format == "label":
        if metric.needs_proba:
            raise DataError(
                f"metric {metric.name} needs probabilities, but the submission holds labels"
            )
        proba = np.eye(comp.num_classes)[comp.encode(sub[target_columns(comp)[0]])]
    else:
        cols = target_columns(comp)
        proba = np.zeros((len(sub), comp.num_classes))
        if binary_target(comp):
            proba[:, 1] = sub[cols[0]].astype(float)
            proba[:, 0] = 1 - proba[:, 1]
        else:
            for c in cols:
                proba[:, comp.classes.index(c)] = sub[c].astype(float)
    parts = {"all": np.ones(len(sub), bool)}
    if "Usage" in truth.columns:
        for usage in ("Public", "Private"):
            parts[usage.lower()] = (truth["Usage"] == usage).to_numpy()
    result = {name: metric(y[m], proba[m]) for name, m in parts.items() if m.any()}
    shown = "  ".join(f"{k} {v:.4f}" for k, v in result.items())
    print(f"score {Path(submission).name}: {metric.name}  {shown}")
    return result
