"""Decisions fitted on OOF predictions (`base.Decision`): multilabel thresholds
(`thresholds`), ordinal cut-points (`cutpoints`); each fitted CV-honestly through
`podium.cross_fit`."""

from podium.tasks.decisions.base import Decision, DecisionFit
from podium.tasks.decisions.cutpoints import Cutpoints, fit_cutpoints
from podium.tasks.decisions.thresholds import MetricThresholds, Thresholds

__all__ = [
    "Cutpoints",
    "Decision",
    "DecisionFit",
    "MetricThresholds",
    "Thresholds",
    "fit_cutpoints",
]
