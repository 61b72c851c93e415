"""The multitarget task's ensemble capability: blends of each target's class probabilities,
with weights per target (M, T), each target's column fitted on that target's class-weighted
log-loss (its term of `weighted_log_loss`) over its labelled rows alone:

    blend         simplex weights on the members' probabilities (SLSQP), a target's block
                  renormalised to sum to one
    logit_blend   non-negative weights on the members' log-probabilities, softmaxed within
                  the target's block (a weighted geometric blend whose free scale also acts
                  as a temperature; L-BFGS-B)

A member can lead on the targets it is good at. There is no meta-model (`has_meta_model`
False): one XGBoost per target does not fit the stack's one-model-per-fold seam, so the
ensemble builds no `stack` candidate and `ensemble.select: stack` is refused. Rows are
never "right" or "wrong" (`correct` None): the paired comparison bootstraps the metric
without McNemar's count.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from scipy.optimize import minimize
from scipy.special import log_softmax, softmax

from podium.metrics.multitarget import EPS, Head, target_terms
from podium.tasks.blending import fit_simplex_weights
from podium.tasks.capabilities import Blend, BlendStacking

BlockLoss = Callable[[np.ndarray, np.ndarray], float]


def _block_loss(head: Head) -> BlockLoss:
    """loss(y (N,), block (N, K)): the target's class-weighted log-loss."""
    own = Head(head.name, 0, head.weights, head.group)

    def loss(y: np.ndarray, block: np.ndarray) -> float:
        total, weight = target_terms(np.asarray(y).reshape(-1, 1), block, own, 0)
        return total / weight if weight > 0 else 0.0

    return loss


def _fit_logit(blocks: list[np.ndarray], y: np.ndarray, head: Head) -> np.ndarray:
    """Non-negative weights on log-probabilities minimising the class-weighted log-loss."""
    logs = np.log(np.clip(np.stack(blocks), EPS, 1.0))  # (M, N, K)
    w_row = np.asarray(head.weights, np.float64)[y]
    rows = np.arange(len(y))

    def loss(w: np.ndarray) -> float:
        nll = -log_softmax(np.tensordot(w, logs, axes=1), axis=1)[rows, y]
        return float((w_row * nll).sum() / w_row.sum())

    start = np.full(len(blocks), 1.0 / len(blocks))
    fitted = minimize(loss, start, method="L-BFGS-B", bounds=[(0.0, None)] * len(blocks))
    return np.asarray(fitted.x, np.float64)


class TargetStacking(BlendStacking):
    """Per-target blends (see the module's docstring); no meta-model."""

    def __init__(self, heads: Sequence[Head]) -> None:
        self.heads = list(heads)

    def blends(self) -> dict[str, Blend]:
        return {
            "blend": Blend(self.fit_simplex, self.apply_simplex, "per-target weights (mean)"),
            "logit_blend": Blend(
                self.fit_logit, self.apply_logit, "per-target log-prob weights (mean)"
            ),
        }

    def _fit(
        self,
        preds: list[np.ndarray],
        y: np.ndarray,
        one: Callable[[list[np.ndarray], np.ndarray, Head], np.ndarray],
    ) -> np.ndarray:
        """(M, T): each target's weights fitted on its labelled rows (equal without any)."""
        columns = []
        for j, head in enumerate(self.heads):
            labels = np.asarray(y)[:, j].astype(np.int64)
            rows = labels >= 0
            block = slice(head.offset, head.offset + head.width)
            if not rows.any() or len(preds) == 1:
                columns.append(np.full(len(preds), 1.0 / len(preds)))
                continue
            columns.append(one([p[rows, block] for p in preds], labels[rows], head))
        return np.stack(columns, axis=1)

    def fit_simplex(self, preds: list[np.ndarray], y: np.ndarray) -> np.ndarray:
        return self._fit(
            preds,
            y,
            lambda blocks, labels, head: fit_simplex_weights(
                blocks, labels, loss=_block_loss(head)
            ),
        )

    def fit_logit(self, preds: list[np.ndarray], y: np.ndarray) -> np.ndarray:
        return self._fit(preds, y, _fit_logit)

    def _per_target(self, weights: np.ndarray) -> np.ndarray:
        """(M, T) weights; (M,) weights are every target's."""
        w = np.asarray(weights, np.float64)
        return w if w.ndim == 2 else np.repeat(w[:, None], len(self.heads), axis=1)

    def apply_simplex(self, preds: list[np.ndarray], weights: np.ndarray) -> np.ndarray:
        """Each target's weighted mean of the members, its block renormalised."""
        w, stacked = self._per_target(weights), np.stack(preds).astype(np.float64)
        out = np.empty(stacked.shape[1:])
        for j, head in enumerate(self.heads):
            block = slice(head.offset, head.offset + head.width)
            mixed = np.tensordot(w[:, j], stacked[:, :, block], axes=1)
            out[:, block] = mixed / np.clip(mixed.sum(axis=1, keepdims=True), EPS, None)
        return out

    def apply_logit(self, preds: list[np.ndarray], weights: np.ndarray) -> np.ndarray:
        """Each target's softmax of the weighted sum of the members' log-probabilities."""
        w = self._per_target(weights)
        logs = np.log(np.clip(np.stack(preds).astype(np.float64), EPS, 1.0))
        out = np.empty(logs.shape[1:])
        for j, head in enumerate(self.heads):
            block = slice(head.offset, head.offset + head.width)
            out[:, block] = softmax(np.tensordot(w[:, j], logs[:, :, block], axes=1), axis=1)
        return out
