"""Decision thresholds for the F-type multilabel metrics, fitted on OOF probabilities.

A sigmoid's 0.5 is rarely the F-best decision (F2 rewards recall, rare labels want lower
thresholds), so podium fits them: one global threshold or one per label, by a search over
candidate thresholds maximizing the chosen F-beta (micro, macro or samples average).

CV-honest, as the blend weights are: `fit_thresholds_cv` binarises fold k's OOF rows with
thresholds fitted on the other folds only, so the CV score is not inflated by fitting on the
rows it scores; the submission uses thresholds fitted on every OOF row. Both are returned.

How the search works (exact, deterministic, no random restarts):
- F at every candidate comes from one sweep: entries sorted by probability switch on one by
  one as the threshold falls, each changing its group's counts (the whole array for micro,
  its label for macro, its row for samples), so F at all N·L candidates costs a sort, not
  N·L rescorings.
- candidates "grid" is 0.01, 0.02, ..., 0.99; "unique" is every distinct probability (the
  midpoints between neighbours, so a threshold never sits on a fitting row); or pass an
  array. Among equally good thresholds (within 1e-12) the one nearest 0.5, then the
  smaller, wins.
- per label: coordinate ascent from the best global threshold, one label at a time with the
  others fixed, each step exact, until a sweep changes nothing (for macro, where labels are
  separable, the first sweep is the per-label optimum). A change is kept only if it improves
  F, so per-label thresholds never score below the global one on the fitting rows.
Decisions are `p >= threshold` (`podium.metric_fns.binarize`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from podium.metric_fns import binarize, f_from_counts, fbeta

GRID = np.round(np.linspace(0.01, 0.99, 99), 2)
_TIE = 1e-12
AVERAGES = ("micro", "macro", "samples")


def _sweep(
    values: np.ndarray,
    hits: np.ndarray,
    group: np.ndarray,
    tp0: np.ndarray,
    npred0: np.ndarray,
    pos: np.ndarray,
    beta: float,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Mean F over groups as entries switch on: (distinct values ascending, F when every
    entry with value >= u is on, F with none on). Group g starts at counts (tp0, npred0) with
    `pos` positives; entry i adds one prediction to `group[i]`, a true positive if hits[i]."""
    n_groups = len(pos)
    base_f = f_from_counts(tp0, npred0 - tp0, pos - tp0, beta)
    # running counts within each group, entries in falling value order
    order = np.lexsort((-values, group))
    g, h = group[order], hits[order].astype(np.int64)
    starts = np.r_[0, np.flatnonzero(np.diff(g)) + 1]
    rank = np.arange(len(g)) - np.repeat(starts, np.diff(np.r_[starts, len(g)]))
    tp_within = np.cumsum(h)
    tp_within -= np.repeat(tp_within[starts] - h[starts], np.diff(np.r_[starts, len(g)]))
    tp_after, npred_after = tp0[g] + tp_within, npred0[g] + rank + 1
    tp_before, npred_before = tp_after - h, npred_after - 1
    delta = np.empty(len(values))
    delta[order] = f_from_counts(tp_after, npred_after - tp_after, pos[g] - tp_after, beta) - (
        f_from_counts(tp_before, npred_before - tp_before, pos[g] - tp_before, beta)
    )
    # then in falling value order over all groups, read at the end of each run of ties
    falling = np.argsort(-values, kind="stable")
    v = values[falling]
    total = base_f.sum() + np.cumsum(delta[falling])
    ends = np.r_[np.flatnonzero(np.diff(v) != 0), len(v) - 1]
    return v[ends][::-1], total[ends][::-1] / n_groups, float(base_f.sum() / n_groups)


def _best(
    u: np.ndarray, f_at_u: np.ndarray, f_none: float, candidates: str | np.ndarray
) -> tuple[float, float]:
    """(threshold, F) of the best candidate on a sweep's curve."""
    if isinstance(candidates, str) and candidates == "unique":
        below = np.r_[0.0, u[:-1]]
        thresholds = (below + u) / 2
        top = (u[-1] + 1) / 2 if u[-1] < 1 else np.nextafter(u[-1], np.inf)
        thresholds, scores = np.r_[thresholds, top], np.r_[f_at_u, f_none]
    else:
        thresholds = GRID if isinstance(candidates, str) else np.asarray(candidates, float)
        k = np.searchsorted(u, thresholds, side="left")  # first value >= t is switched on
        scores = np.where(k < len(u), f_at_u[np.minimum(k, len(u) - 1)], f_none)
    good = np.flatnonzero(scores >= scores.max() - _TIE)
    pick = good[np.lexsort((thresholds[good], np.abs(thresholds[good] - 0.5)))[0]]
    return float(thresholds[pick]), float(scores[pick])


def _check(y: np.ndarray, p: np.ndarray, average: str, candidates: Any) -> None:
    if y.ndim != 2 or y.shape != p.shape:
        raise ValueError(f"targets {y.shape} and probabilities {p.shape} must both be (N, L)")
    if average not in AVERAGES:
        raise ValueError(f"average={average!r}; expected one of {AVERAGES}")
    if isinstance(candidates, str) and candidates not in ("grid", "unique"):
        raise ValueError(f"candidates={candidates!r}; expected 'grid', 'unique' or an array")


def fit_thresholds(
    y: np.ndarray,
    p: np.ndarray,
    *,
    beta: float = 1.0,
    average: str = "micro",
    per_label: bool = False,
    candidates: str | np.ndarray = "grid",
    max_sweeps: int = 10,
) -> np.ndarray:
    """Thresholds (L,) maximizing F-beta of `p >= threshold` on these rows: all equal when
    `per_label` is False.

    y: (N, L) 0/1 targets; p: (N, L) probabilities; average: "micro", "macro" or "samples";
    candidates: "grid" (0.01..0.99), "unique" (every distinct probability) or an array;
    max_sweeps: the most passes over the labels for per-label thresholds.
    """
    y, p = np.asarray(y).astype(bool), np.asarray(p, dtype=np.float64)
    _check(y, p, average, candidates)
    n, n_labels = y.shape
    rows, labels = np.indices(y.shape)
    group = {"micro": np.zeros(y.size, np.int64), "macro": labels.ravel(), "samples": rows.ravel()}
    pos = {"micro": [y.sum()], "macro": y.sum(axis=0), "samples": y.sum(axis=1)}[average]
    pos = np.asarray(pos, dtype=np.int64)
    zeros = np.zeros(len(pos), np.int64)
    t, score = _best(
        *_sweep(p.ravel(), y.ravel(), group[average], zeros, zeros, pos, beta), candidates
    )
    thresholds = np.full(n_labels, t)
    if not per_label:
        return thresholds
    for _ in range(max_sweeps):
        changed = False
        for j in range(n_labels):
            decided = binarize(p, thresholds)
            decided[:, j] = False
            tp = decided & y
            if average == "micro":
                g, tp0, npred0 = np.zeros(n, np.int64), [tp.sum()], [decided.sum()]
            elif average == "macro":
                g, tp0, npred0 = np.full(n, j), tp.sum(axis=0), decided.sum(axis=0)
            else:
                g, tp0, npred0 = np.arange(n), tp.sum(axis=1), decided.sum(axis=1)
            curve = _sweep(p[:, j], y[:, j], g, np.asarray(tp0), np.asarray(npred0), pos, beta)
            t, f = _best(*curve, candidates)
            if f > score + _TIE:
                thresholds[j], score, changed = t, f, True
        if not changed:
            break
    return thresholds


@dataclass(frozen=True)
class ThresholdFit:
    """Thresholds fitted CV-honestly (see the module docstring)."""

    folds: np.ndarray  # (K,) fold ids, in np.unique order
    fold_thresholds: np.ndarray  # (K, L): row k fitted without fold k's rows
    oof_decisions: np.ndarray  # (N, L) bool: each row decided with its own fold's thresholds
    thresholds: np.ndarray  # (L,) fitted on every row: for the test predictions
    cv_score: float  # F-beta of oof_decisions: the honest CV score
    fold_scores: np.ndarray  # (K,) F-beta of fold k's rows with fold_thresholds[k]
    fit_score: float  # F-beta of every row at `thresholds` (in-sample, optimistic)
    beta: float
    average: str
    per_label: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (no per-row decisions) for the run's scores/thresholds file."""
        return {
            "beta": self.beta,
            "average": self.average,
            "per_label": self.per_label,
            "thresholds": self.thresholds.tolist(),
            "fold_thresholds": {
                str(k): t.tolist()
                for k, t in zip(self.folds.tolist(), self.fold_thresholds, strict=True)
            },
            "cv_score": self.cv_score,
            "fold_scores": {
                str(k): float(s) for k, s in zip(self.folds.tolist(), self.fold_scores, strict=True)
            },
            "fit_score": self.fit_score,
        }


def fit_thresholds_cv(
    y: np.ndarray,
    p: np.ndarray,
    fold: np.ndarray,
    *,
    beta: float = 1.0,
    average: str = "micro",
    per_label: bool = False,
    candidates: str | np.ndarray = "grid",
) -> ThresholdFit:
    """Fold k's thresholds fitted on the other folds' rows and applied to fold k (the CV
    score), and thresholds fitted on every row (the submission). fold: (N,) fold ids."""
    y, p, fold = np.asarray(y).astype(bool), np.asarray(p, dtype=np.float64), np.asarray(fold)
    _check(y, p, average, candidates)
    if fold.shape != (len(y),):
        raise ValueError(f"fold has shape {fold.shape}; expected ({len(y)},), one id per row")
    folds = np.unique(fold)
    if len(folds) < 2:
        raise ValueError(f"thresholds need at least 2 folds to be fitted CV-honestly, got {folds}")
    options: dict[str, Any] = dict(
        beta=beta, average=average, per_label=per_label, candidates=candidates
    )
    fold_thresholds = np.zeros((len(folds), y.shape[1]))
    decisions = np.zeros(y.shape, dtype=bool)
    fold_scores = np.zeros(len(folds))
    for i, k in enumerate(folds):
        rows = fold == k
        fold_thresholds[i] = fit_thresholds(y[~rows], p[~rows], **options)
        decisions[rows] = binarize(p[rows], fold_thresholds[i])
        fold_scores[i] = fbeta(y[rows], decisions[rows], beta, 0.5, average)
    thresholds = fit_thresholds(y, p, **options)
    return ThresholdFit(
        folds=folds,
        fold_thresholds=fold_thresholds,
        oof_decisions=decisions,
        thresholds=thresholds,
        cv_score=fbeta(y, decisions, beta, 0.5, average),
        fold_scores=fold_scores,
        fit_score=fbeta(y, p, beta, thresholds, average),
        beta=beta,
        average=average,
        per_label=per_label,
    )
