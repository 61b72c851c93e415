"""The metric vocabulary: one record (`Metric`), one registry per kind of target
(`classification`, `multilabel`, `values`, `ordinal`, `segmentation`), a user's plug-in
metric (`plugin`), and the typed score results every stage writes (`scores`).

Pure numpy / scikit-learn / scipy, no torch: the ensemble, tune and the notebooks import it.
"""

from podium.metrics.base import NEEDS, Metric, Needs, registry
from podium.metrics.scores import DecisionSummary, FoldScore, ScoreBlock, scores_header

__all__ = [
    "NEEDS",
    "DecisionSummary",
    "FoldScore",
    "Metric",
    "Needs",
    "ScoreBlock",
    "registry",
    "scores_header",
]
