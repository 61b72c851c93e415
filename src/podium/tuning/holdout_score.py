"""Scoring a study's holdout: the tuned settings against the untuned baseline on the same
held-out rows, as `podium oof` scores a run.

Both sets of predictions are scored pooled over the held-out folds' rows by
`podium.scoring.score_predictions` (the task's decision, cut-points or thresholds, fitted
CV-honestly: fold k decided with parameters fitted on the other held-out folds), and compared
row for row by the ensemble's paired bootstrap (`podium.ensemble.significance.compare`): the
gain of the tuned settings over the baseline with its 95% interval, "within noise" when the
interval holds zero. A mean of per-unit scores would neither decide the rows nor pair them.
A metric that scores decided predictions only (a segmentation's Dice of thresholded masks)
held out on one fold is decided over that fold's inner parts, as a trial is
(`podium.tuning.decided`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from podium.ensemble.significance import Gain, compare
from podium.metrics import ScoreBlock
from podium.scoring import decided_oof, score_predictions
from podium.tasks import Task
from podium.tuning.decided import inner_parts


@dataclass(frozen=True)
class HoldoutScore:
    """The tuned and the baseline predictions on the held-out rows, and the paired gain of
    the tuned over the baseline on the competition metric (positive: tuned is better)."""

    tuned: ScoreBlock
    baseline: ScoreBlock
    gain: Gain
    rows: int

    def to_json(self) -> dict[str, Any]:
        return {
            "metric": self.tuned.metric,
            "holdout_cv": self.tuned.score,
            "baseline_cv": self.baseline.score,
            "gain": {
                "observed": self.gain.observed,
                "low": self.gain.low,
                "high": self.gain.high,
                "verdict": self.gain.verdict,
            },
            "rows": self.rows,
            "tuned": self.tuned.to_json(),
            "baseline": self.baseline.to_json(),
        }


def score_holdout(
    task: Task,
    y: np.ndarray,
    fold: np.ndarray,
    tuned: np.ndarray,
    baseline: np.ndarray,
    n_boot: int = 1000,
    seed: int = 0,
) -> HoldoutScore:
    """Both prediction arrays of the held-out rows (`y`, their `fold`) scored pooled and
    compared pairwise (the metric of the decided rows; see the module docstring)."""
    if task.metric.needs == "decisions" and len(np.unique(fold)) < 2:
        fold = inner_parts(len(y))  # masks score decided only: one fold's rows in parts
    decided = (decided_oof(task, y, tuned, fold), decided_oof(task, y, baseline, fold))
    paired = compare(task, y, tuned, baseline, n_boot=n_boot, seed=seed, decided=decided)
    return HoldoutScore(
        tuned=score_predictions(task, y, tuned, fold),
        baseline=score_predictions(task, y, baseline, fold),
        gain=paired.gains[task.metric.name],
        rows=len(y),
    )


def holdout_line(h: dict[str, Any]) -> str:
    """The printed line of a summary's holdout (`HoldoutScore.to_json` inside it)."""
    g = h["gain"]
    return (
        f"on the untuned folds {h['holdout_folds']} ({h['rows']} rows, pooled): "
        f"{h['metric']} {h['holdout_cv']:.6g} tuned vs {h['baseline_cv']:.6g} untuned baseline, "
        f"gain {g['observed']:+.4f} (95% paired bootstrap {g['low']:+.4f} to "
        f"{g['high']:+.4f}, {g['verdict']})"
    )
