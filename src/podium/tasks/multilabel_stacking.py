"""The stacking capability of independent per-label probabilities (multilabel): blends,
level-2 features, the meta-model's prior, estimator and predictions. Every blend is fitted on
the mean binary cross-entropy:

    blend         one simplex weight per member, shared by every label
    label_blend   simplex weights per label (M, L): a member can lead on the labels it is
                  good at; each label's column is fitted on its own
    logit_blend   non-negative weights on the members' logits, then the sigmoid: a weighted
                  geometric blend of odds whose free scale also acts as a temperature
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
from scipy.optimize import minimize
from xgboost import XGBClassifier

from podium.metrics.multilabel import multilabel_log_loss
from podium.tasks.blending import fit_simplex_weights, weighted
from podium.tasks.capabilities import Blend, Stacking

EPS = 1e-6


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, np.float64), EPS, 1 - EPS)
    return np.log(p) - np.log1p(-p)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def fit_label_weights(preds: list[np.ndarray], y: np.ndarray) -> np.ndarray:
    """(M, L) simplex weights, label by label."""
    return np.stack(
        [
            fit_simplex_weights([p[:, [j]] for p in preds], y[:, [j]], loss=multilabel_log_loss)
            for j in range(y.shape[1])
        ],
        axis=1,
    )


def label_weighted(preds: list[np.ndarray], weights: np.ndarray) -> np.ndarray:
    """Each label's weighted mean of the members (weights (M, L), or (M,) for all labels)."""
    w = np.asarray(weights, np.float64)
    if w.ndim == 1:
        return weighted(preds, w)
    return np.einsum("ml,mnl->nl", w, np.stack(preds))


def logit_weighted(preds: list[np.ndarray], weights: np.ndarray) -> np.ndarray:
    return _sigmoid(np.tensordot(weights, logit(np.stack(preds)), axes=1))


def fit_logit_weights(preds: list[np.ndarray], y: np.ndarray) -> np.ndarray:
    """Non-negative weights on logits minimising the cross-entropy (L-BFGS-B)."""
    z = logit(np.stack(preds))

    def loss(w: np.ndarray) -> float:
        return multilabel_log_loss(y, _sigmoid(np.tensordot(w, z, axes=1)))

    start = np.full(len(preds), 1.0 / len(preds))
    return minimize(loss, start, method="L-BFGS-B", bounds=[(0.0, None)] * len(preds)).x


BLENDS: dict[str, Blend] = {
    "blend": Blend(partial(fit_simplex_weights, loss=multilabel_log_loss), weighted, "weights"),
    "label_blend": Blend(fit_label_weights, label_weighted, "per-label weights (mean)"),
    "logit_blend": Blend(fit_logit_weights, logit_weighted, "logit weights"),
}


def prior_logits(preds: list[np.ndarray], weights: np.ndarray, prior: str) -> np.ndarray:
    """(N, L) starting logits of the meta-model: the blend named `prior` (mean and blend:
    weights on probabilities) as logits."""
    if prior == "logit_blend":
        return np.tensordot(weights, logit(np.stack(preds)), axes=1)
    return logit(label_weighted(preds, weights))


def level2_blocks(
    preds: list[np.ndarray],
    names: list[str],
    labels: list[str],
    logits: bool,
    row_stats: bool,
    mean: bool,
) -> tuple[np.ndarray, list[str]]:
    """Each member's probabilities (optionally their logits); with several members their
    mean (`mean_proba`) and their spread across members (`row_stats`)."""
    blocks, out = [], []
    for name, p in zip(names, preds, strict=True):
        blocks.append(p)
        out += [f"{name}:p_{label}" for label in labels]
        if logits:
            blocks.append(logit(p))
            out += [f"{name}:logit_{label}" for label in labels]
    if len(preds) > 1:
        stacked = np.stack(preds)
        if mean:
            blocks.append(stacked.mean(axis=0))
            out += [f"mean:p_{label}" for label in labels]
        if row_stats:
            blocks.append(stacked.std(axis=0))
            out += [f"std:p_{label}" for label in labels]
    return np.concatenate(blocks, axis=1), out


class LabelStacking(Stacking):
    """The blends above; XGBoost's multi-label classifier as the meta-model (one sigmoid per
    label, `binary:logistic`), boosted from a blend's logits."""

    def __init__(self, labels: list[str]) -> None:
        self.labels = labels

    def blends(self) -> dict[str, Blend]:
        return BLENDS

    def level2_features(
        self, preds: list[np.ndarray], names: list[str], logits: bool, row_stats: bool, mean: bool
    ) -> tuple[np.ndarray, list[str]]:
        return level2_blocks(preds, names, self.labels, logits, row_stats, mean)

    def prior_margin(self, preds: list[np.ndarray], weights: np.ndarray, prior: str) -> np.ndarray:
        return prior_logits(preds, weights, prior)

    def meta_estimator(self, params: dict[str, Any]) -> XGBClassifier:
        """Its `multi_strategy` (one tree per label by default, `multi_output_tree` for trees
        with a leaf vector) can be set in `ensemble.meta.params`."""
        return XGBClassifier(**params, objective="binary:logistic", eval_metric="logloss")

    def meta_predict(self, model: Any, x: np.ndarray, margin: np.ndarray | None) -> np.ndarray:
        return np.asarray(model.predict_proba(x, base_margin=margin)).reshape(len(x), -1)

    def correct(self, y: np.ndarray, pred: np.ndarray) -> np.ndarray:
        """Rows whose every label is right at 0.5 (exact match), for the McNemar count."""
        return ((np.asarray(pred) >= 0.5) == np.asarray(y, bool)).all(axis=1)
