"""Typed score results: what scoring predictions on their folds gives (`ScoreBlock`), and
what a decision fitted on OOF rows records (`DecisionSummary`). Both are written into
`scores.json` through `to_json` and read back through `from_json`, so every reader (submit,
export, the ensemble report, the board, the notebooks) sees one layout:

    {"<metric>": CV, "valid_loss": ..., "fold_mean": ..., "fold_std": ...,
     "folds": {"0": {"<metric>": ..., "valid_loss": ...}, ...},
     "decision": {"kind": "thresholds", "params": [...], "fold_params": {"0": [...]},
                  "cv_score": ..., "fold_scores": {...}, "fit_score": ..., ...details},
     "secondary": {"rmse": ..., ...}}

`valid_loss` is the task's validation loss (log-loss for classes, MSE or MAE in target
units for values): the file's header names which (`valid_loss_name`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class FoldScore:
    """One fold's rows: the competition metric and the validation loss."""

    score: float
    valid_loss: float


@dataclass(frozen=True)
class DecisionSummary:
    """What a decision (thresholds, cut-points, a mask's threshold and minimum area) fitted
    on OOF rows, without the per-row arrays: fold k's parameters were fitted on the other
    folds and decide fold k's rows (their metric is `cv_score`, the honest CV); `params`
    were fitted on every row and decide the test rows (`fit_score` is their in-sample
    metric, optimistic, reported beside the CV)."""

    kind: str
    params: list[float]
    fold_params: dict[int, list[float]]
    cv_score: float
    fold_scores: dict[int, float]
    fit_score: float
    details: dict[str, Any] = field(default_factory=dict)  # JSON-ready: labels, beta, grades...

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "params": list(self.params),
            "fold_params": {str(k): list(v) for k, v in self.fold_params.items()},
            "cv_score": self.cv_score,
            "fold_scores": {str(k): v for k, v in self.fold_scores.items()},
            "fit_score": self.fit_score,
            **self.details,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> DecisionSummary:
        known = {"kind", "params", "fold_params", "cv_score", "fold_scores", "fit_score"}
        return cls(
            kind=d["kind"],
            params=[float(v) for v in d["params"]],
            fold_params={int(k): [float(x) for x in v] for k, v in d["fold_params"].items()},
            cv_score=float(d["cv_score"]),
            fold_scores={int(k): float(v) for k, v in d["fold_scores"].items()},
            fit_score=float(d["fit_score"]),
            details={k: v for k, v in d.items() if k not in known},
        )


@dataclass(frozen=True)
class ScoreBlock:
    """Predictions scored on the folds they were made on: the metric over every row (the
    CV; decided CV-honestly where the task decides), the validation loss, each fold's, and
    what a decision fitted to make them."""

    metric: str
    score: float
    valid_loss: float
    folds: dict[int, FoldScore]
    decision: DecisionSummary | None = None
    secondary: dict[str, float] = field(default_factory=dict)

    @property
    def fold_mean(self) -> float:
        return float(np.mean([f.score for f in self.folds.values()]))

    @property
    def fold_std(self) -> float:
        return float(np.std([f.score for f in self.folds.values()]))

    @property
    def valid_loss_std(self) -> float:
        """The fold-to-fold spread of the validation loss."""
        return float(np.std([f.valid_loss for f in self.folds.values()]))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            self.metric: self.score,
            "valid_loss": self.valid_loss,
            "fold_mean": self.fold_mean,
            "fold_std": self.fold_std,
            "folds": {
                str(k): {self.metric: f.score, "valid_loss": f.valid_loss}
                for k, f in self.folds.items()
            },
        }
        if self.decision is not None:
            out["decision"] = self.decision.to_json()
        if self.secondary:
            out["secondary"] = dict(self.secondary)
        return out

    @classmethod
    def from_json(cls, d: dict[str, Any], metric: str) -> ScoreBlock:
        """A block as `to_json` wrote it (`metric`: the file header's metric name)."""
        return cls(
            metric=metric,
            score=float(d[metric]),
            valid_loss=float(d["valid_loss"]),
            folds={
                int(k): FoldScore(float(v[metric]), float(v["valid_loss"]))
                for k, v in d["folds"].items()
            },
            decision=DecisionSummary.from_json(d["decision"]) if d.get("decision") else None,
            secondary={k: float(v) for k, v in (d.get("secondary") or {}).items()},
        )


def scores_header(block: ScoreBlock, greater_is_better: bool, valid_loss_name: str) -> dict:
    """The head of every scores.json: which metric, its direction, the CV and the loss."""
    return {
        "metric": block.metric,
        "greater_is_better": greater_is_better,
        "cv": block.score,
        "valid_loss": block.valid_loss,
        "valid_loss_name": valid_loss_name,
    }
