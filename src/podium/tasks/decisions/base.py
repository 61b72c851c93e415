"""The decision seam: anything fitted on OOF predictions and applied to predictions before
the metric scores them and the submission writes them: a multilabel F metric's thresholds,
an ordinal task's cut-points, a mask's probability threshold and minimum area.

A decision fitted on the rows it scores flatters the score, so `fit_cv` fits fold k's
parameters on the other folds only (`podium.cross_fit`) and decides fold k with them: the
metric of those decided OOF rows is the CV every report shows. The parameters fitted on every
OOF row decide the test rows; their in-sample score is kept beside the CV (`fit_score`).

When each method is called, and by whom:
- `fit_cv(y, pred, fold)`: by `podium.scoring.score_predictions` for every OOF set that is
  scored on its folds (oof, tabular members, the ensemble's candidates); the summary goes to
  scores.json's block as `decision`.
- `apply(pred, params)`: inside `fit_cv`, and by `podium.submission` on the test
  predictions with the parameters fitted on every OOF row (read back by `params_from`).
- `report(summary)`: the printed lines of oof, tabular and ensemble.
- `apply_folds(pred, fold, summary)`: the OOF rows decided again with the stored per-fold
  parameters, by the OOF notebooks (the CV's decisions without a refit).
- `secondary(y, pred, decided)`: extra figures a task reports beside its metric.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from podium.cross_fit import cross_fit
from podium.errors import ArtifactError
from podium.metrics import DecisionSummary


@dataclass(frozen=True)
class DecisionFit:
    """A decision fitted CV-honestly: its summary (what scores.json keeps) and the OOF rows
    decided with the parameters their fold did not see."""

    summary: DecisionSummary
    decided_oof: np.ndarray


class Decision(ABC):
    """Fitted on (targets, predictions), applied to predictions; see the module docstring."""

    kind: ClassVar[str]

    @abstractmethod
    def fit(self, y: np.ndarray, pred: np.ndarray) -> np.ndarray:
        """Parameters (a 1-D float array) fitted on these rows."""

    @abstractmethod
    def apply(self, pred: np.ndarray, params: np.ndarray) -> np.ndarray:
        """The predictions decided with `params`, in the shape the metric scores."""

    @abstractmethod
    def score(self, y: np.ndarray, decided: np.ndarray) -> float:
        """The metric of decided rows (what the decision maximises)."""

    def details(self) -> dict[str, Any]:
        """JSON-ready settings the summary keeps (labels, beta, grades...)."""
        return {}

    def secondary(self, y: np.ndarray, pred: np.ndarray, decided: np.ndarray) -> dict[str, float]:
        """Other figures reported beside the metric (none by default)."""
        return {}

    @abstractmethod
    def report(self, summary: DecisionSummary) -> list[str]:
        """Lines that describe a fitted decision, for the stages' printouts."""

    @abstractmethod
    def check_params(self, summary: DecisionSummary, source: str) -> None:
        """Refuse a summary fitted for another schema (other labels or grades), naming
        `source`; called before its parameters decide a submission."""

    def fit_cv(self, y: np.ndarray, pred: np.ndarray, fold: np.ndarray) -> DecisionFit:
        """Fold k decided with parameters fitted on the other folds (the CV), and parameters
        fitted on every row (the submission's)."""
        params = self.fit(y, pred)
        every_row = self.apply(pred, params)
        fitted = cross_fit(
            fold,
            fit=lambda rows: self.fit(y[rows], pred[rows]),
            apply=lambda p, rows: self.apply(pred[rows], p),
            out=np.empty_like(every_row),
        )
        decided = fitted.oof
        folds = [int(k) for k in fitted.folds]
        summary = DecisionSummary(
            kind=self.kind,
            params=[float(v) for v in params],
            fold_params={
                k: [float(v) for v in p] for k, p in zip(folds, fitted.params, strict=True)
            },
            cv_score=self.score(y, decided),
            fold_scores={k: self.score(y[fold == k], decided[fold == k]) for k in folds},
            fit_score=self.score(y, every_row),
            details=self.details(),
        )
        return DecisionFit(summary, decided)

    def apply_folds(
        self, pred: np.ndarray, fold: np.ndarray, summary: DecisionSummary
    ) -> np.ndarray:
        """The OOF rows decided as the CV decided them: fold k's rows with the parameters
        fitted without fold k (`summary.fold_params`, read back from scores.json), so an
        analysis scores the stored decision instead of refitting it."""
        missing = sorted(set(int(k) for k in np.unique(fold)) - set(summary.fold_params))
        if missing:
            raise ArtifactError(f"the {summary.kind} summary has no parameters for folds {missing}")
        out: np.ndarray | None = None
        for k, params in summary.fold_params.items():
            rows = fold == k
            if not rows.any():
                continue
            decided = self.apply(pred[rows], np.asarray(params, dtype=np.float64))
            if out is None:
                out = np.empty((len(pred), *decided.shape[1:]), dtype=decided.dtype)
            out[rows] = decided
        assert out is not None, "no OOF rows"
        return out

    def params_from(self, summary: DecisionSummary | None, source: str) -> np.ndarray:
        """The parameters fitted on every OOF row, to decide test predictions; a missing or
        mismatched summary is refused, naming `source` (a scores.json, a bundle)."""
        if summary is None or summary.kind != self.kind:
            raise ArtifactError(
                f"{source}: no {self.kind} fitted on the OOF rows; run `podium oof` (or the "
                "ensemble, or a tabular member's train) before submitting"
            )
        self.check_params(summary, source)
        return np.asarray(summary.params, dtype=np.float64)
