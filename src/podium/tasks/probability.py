"""Numerics of class probabilities, shared by the classification tasks: softmax, the merge of
views / folds / seeds, the log-probability blend, the meta-model's level-2 features and its
prior. Only the classification tasks and the ordinal expectation head import this module;
nothing else assumes probabilities.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize
from scipy.special import log_softmax

EPS = 1e-7


def softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    z = logits - logits.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def merge_logits(logits: np.ndarray, how: str) -> np.ndarray:
    """Merge logits (M, N, C) along axis 0 (views, or folds x seeds) into probabilities (N, C).

    prob: mean of softmaxes (robust to one over-confident member); logit: softmax of mean
    logits; geometric: normalised geometric mean of probabilities (= logit mean up to the
    per-member log-sum-exp, which it removes)."""
    if how == "prob":
        return softmax(logits).mean(axis=0)
    if how == "logit":
        return softmax(logits.mean(axis=0))
    if how == "geometric":
        logp = np.log(np.clip(softmax(logits), 1e-12, None))
        return softmax(logp.mean(axis=0))
    raise ValueError(f"unknown merge {how!r}")


def labels_of(proba: np.ndarray) -> np.ndarray:
    return proba.argmax(axis=-1)


def _logs(probas: list[np.ndarray]) -> np.ndarray:
    return np.log(np.clip(np.stack(probas), EPS, 1.0))  # (M, N, C)


def logit_weighted(probas: list[np.ndarray], weights: np.ndarray) -> np.ndarray:
    """A weighted sum of the members' log-probabilities, softmaxed (a geometric blend). Its
    weights are free in scale, so they also act as a temperature: a member trained with label
    smoothing is under-confident, which no probability average can undo."""
    return softmax(np.tensordot(weights, _logs(probas), axes=1), axis=1)


def fit_logit_weights(probas: list[np.ndarray], y: np.ndarray) -> np.ndarray:
    """Non-negative weights on log-probabilities minimising the log-loss (L-BFGS-B)."""
    logs = _logs(probas)
    rows = np.arange(len(y))

    def loss(w: np.ndarray) -> float:
        return float(-log_softmax(np.tensordot(w, logs, axes=1), axis=1)[rows, y].mean())

    start = np.full(len(probas), 1.0 / len(probas))
    return minimize(loss, start, method="L-BFGS-B", bounds=[(0.0, None)] * len(probas)).x


def entropy(p: np.ndarray) -> np.ndarray:
    return -(p * np.log(np.clip(p, EPS, 1.0))).sum(axis=1)


def level2_blocks(
    probas: list[np.ndarray],
    names: list[str],
    classes: list[str],
    logits: bool,
    row_stats: bool,
    mean_proba: bool,
) -> tuple[np.ndarray, list[str]]:
    """Each member's probabilities (optionally their logs), its entropy and top probability,
    the members' mean and their agreement with the mean's vote."""
    blocks, out = [], []
    for name, p in zip(names, probas, strict=True):
        blocks.append(p)
        out += [f"{name}:p_{c}" for c in classes]
        if logits:
            blocks.append(np.log(np.clip(p, EPS, 1.0)))
            out += [f"{name}:logp_{c}" for c in classes]
        if row_stats:
            blocks += [entropy(p)[:, None], p.max(axis=1, keepdims=True)]
            out += [f"{name}:entropy", f"{name}:max_p"]
    mean = np.mean(probas, axis=0)
    if mean_proba and len(probas) > 1:
        blocks.append(mean)
        out += [f"mean:p_{c}" for c in classes]
    if row_stats and len(probas) > 1:
        vote = labels_of(mean)
        agree = np.mean([labels_of(p) == vote for p in probas], axis=0)
        blocks += [agree[:, None], entropy(mean)[:, None]]
        out += ["agreement", "mean:entropy"]
    return np.concatenate(blocks, axis=1), out


def prior_scores(probas: list[np.ndarray], weights: np.ndarray, prior: str) -> np.ndarray:
    """(N, C) log-scores of a blend: `logit_blend` weights the members' log-probabilities,
    `mean` and `blend` average their probabilities."""
    if prior == "logit_blend":
        return np.tensordot(weights, _logs(probas), axes=1)
    return np.log(np.clip(np.tensordot(weights, np.stack(probas), axes=1), EPS, 1.0))
