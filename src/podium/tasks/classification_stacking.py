"""Classification's ensemble capability: blends of class probabilities (simplex weights on
the log-loss, a log-probability blend) and the XGBoost classifier as the meta-model, boosted
from a blend's log-scores. `Classification` holds one; the ensemble stage calls it.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
from xgboost import XGBClassifier

from podium.metrics.classification import LOG_LOSS
from podium.tasks import probability as P
from podium.tasks.blending import fit_simplex_weights, weighted
from podium.tasks.capabilities import Blend, Stacking


class ClassStacking(Stacking):
    """Blends of class probabilities (a simplex-weighted mean, a log-probability blend), the
    XGBoost classifier as the meta-model, boosted from a blend's log-scores."""

    def __init__(self, classes: list[str]) -> None:
        self.classes = classes

    def blends(self) -> dict[str, Blend]:
        return {
            "blend": Blend(partial(fit_simplex_weights, loss=LOG_LOSS), weighted, "weights"),
            "logit_blend": Blend(P.fit_logit_weights, P.logit_weighted, "log-prob weights"),
        }

    def level2_features(
        self, preds: list[np.ndarray], names: list[str], logits: bool, row_stats: bool, mean: bool
    ) -> tuple[np.ndarray, list[str]]:
        return P.level2_blocks(preds, names, self.classes, logits, row_stats, mean)

    def prior_margin(self, preds: list[np.ndarray], weights: np.ndarray, prior: str) -> np.ndarray:
        scores = P.prior_scores(preds, weights, prior)
        # with two classes XGBoost fits one margin: the positive class's logit
        return scores[:, 1] - scores[:, 0] if scores.shape[1] == 2 else scores

    def meta_estimator(self, params: dict[str, Any]) -> XGBClassifier:
        eval_metric = "mlogloss" if len(self.classes) > 2 else "logloss"
        return XGBClassifier(**params, eval_metric=eval_metric)

    def meta_predict(self, model: Any, x: np.ndarray, margin: np.ndarray | None) -> np.ndarray:
        return np.asarray(model.predict_proba(x, base_margin=margin))

    def correct(self, y: np.ndarray, pred: np.ndarray) -> np.ndarray:
        return P.labels_of(pred) == y
