"""Decision thresholds of a multilabel F metric, fitted on OOF probabilities (the search is
`podium.metrics.fbeta.fit_thresholds`: one global threshold, or one per label with
`competition.thresholds: per_label`). Decisions are `p >= threshold`, as 0/1 floats.

The same seam serves a plug-in metric that scores multilabel decisions
(`needs: decisions`): `MetricThresholds` searches one global threshold on a grid for it,
since its F-specific sweep does not apply.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from podium.errors import ArtifactError
from podium.metrics import DecisionSummary, Metric
from podium.metrics.fbeta import GRID, binarize, fbeta, fit_thresholds
from podium.tasks.decisions.base import Decision


def _shown(params: list[float], per_label: bool) -> str:
    return " ".join(f"{v:.2f}" for v in params) if per_label else f"{params[0]:.2f}"


class Thresholds(Decision):
    """F-beta thresholds over label columns `labels`."""

    kind = "thresholds"

    def __init__(self, beta: float, average: str, per_label: bool, labels: list[str]) -> None:
        self.beta, self.average, self.per_label, self.labels = beta, average, per_label, labels

    def fit(self, y: np.ndarray, pred: np.ndarray) -> np.ndarray:
        return fit_thresholds(
            y, pred, beta=self.beta, average=self.average, per_label=self.per_label
        )

    def apply(self, pred: np.ndarray, params: np.ndarray) -> np.ndarray:
        return binarize(pred, params).astype(np.float64)

    def score(self, y: np.ndarray, decided: np.ndarray) -> float:
        return fbeta(y, decided, self.beta, 0.5, self.average)

    def details(self) -> dict[str, Any]:
        return {
            "labels": self.labels,
            "beta": self.beta,
            "average": self.average,
            "per_label": self.per_label,
        }

    def check_params(self, summary: DecisionSummary, source: str) -> None:
        if summary.details.get("labels") != self.labels:
            raise ArtifactError(
                f"{source}: thresholds fitted for labels {summary.details.get('labels')}, the "
                f"task has {self.labels}; re-run oof"
            )

    def report(self, summary: DecisionSummary) -> list[str]:
        per_label = bool(summary.details.get("per_label"))
        return [
            f"thresholds ({'per label' if per_label else 'global'}, fitted on every OOF row, "
            f"for the submission): {_shown(summary.params, per_label)}; F with thresholds "
            f"fitted without each fold {summary.cv_score:.4f} (the CV), on every row "
            f"{summary.fit_score:.4f} (in-sample)"
        ]


class MetricThresholds(Thresholds):
    """One global threshold on 0.01..0.99 maximising a plug-in decisions metric."""

    def __init__(self, metric: Metric, labels: list[str]) -> None:
        super().__init__(beta=1.0, average="micro", per_label=False, labels=labels)
        self.metric = metric

    def fit(self, y: np.ndarray, pred: np.ndarray) -> np.ndarray:
        scores = [self.metric(y, binarize(pred, t).astype(np.float64)) for t in GRID]
        best = GRID[self.metric_best(scores)]
        return np.full(pred.shape[1], float(best))

    def metric_best(self, scores: list[float]) -> int:
        """Index of the best score; ties go to the threshold nearest 0.5."""
        values = np.asarray(scores if self.metric.greater_is_better else [-s for s in scores])
        good = np.flatnonzero(values >= values.max() - 1e-12)
        return int(good[np.argmin(np.abs(GRID[good] - 0.5))])

    def score(self, y: np.ndarray, decided: np.ndarray) -> float:
        return self.metric(y, decided)

    def details(self) -> dict[str, Any]:
        return {"labels": self.labels, "metric": self.metric.name, "per_label": False}

    def report(self, summary: DecisionSummary) -> list[str]:
        return [
            f"threshold (global, for {self.metric.name}, fitted on every OOF row): "
            f"{summary.params[0]:.2f}; {self.metric.name} with thresholds fitted without each "
            f"fold {summary.cv_score:.4f} (the CV), on every row {summary.fit_score:.4f} "
            "(in-sample)"
        ]
