"""F-beta over multilabel decisions, and the thresholds that maximise it on given rows.

Decisions are `p >= threshold` (a float, or one per label column). F-beta is averaged
"micro" (pooled counts), "macro" (mean over labels) or "samples" (mean over rows); a label,
row or array with no true and no predicted positive scores 1.0 (nothing to find and nothing
wrongly found: scikit-learn's `zero_division=1.0`), while a label that is absent but
predicted scores 0.

`fit_thresholds` searches the F-best thresholds of the rows it is given, exactly and
deterministically (no random restarts). A sigmoid's 0.5 is rarely the F-best decision (F2
rewards recall, rare labels want lower thresholds). Fitting on the rows that are then scored
flatters the score: `podium.tasks.decisions.thresholds` fits them CV-honestly. How the search
works:
- F at every candidate comes from one sweep: entries sorted by probability switch on one by
  one as the threshold falls, each changing its group's counts (the whole array for micro,
  its label for macro, its row for samples), so F at all N*L candidates costs a sort, not
  N*L rescorings.
- candidates "grid" is 0.01, 0.02, ..., 0.99; "unique" is every distinct probability (the
  midpoints between neighbours, so a threshold never sits on a fitting row); or pass an
  array. Among equally good thresholds (within 1e-12) the one nearest 0.5, then the
  smaller, wins.
- per label: coordinate ascent from the best global threshold, one label at a time with the
  others fixed, each step exact, until a sweep changes nothing (for macro, where labels are
  separable, the first sweep is the per-label optimum). A change is kept only if it improves
  F, so per-label thresholds never score below the global one on the fitting rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np

BETAS = (0.5, 1.0, 2.0)


def binarize(p: np.ndarray, threshold: float | np.ndarray = 0.5) -> np.ndarray:
    """Decisions `p >= threshold` (threshold a float or one per label column)."""
    return np.asarray(p) >= np.asarray(threshold, dtype=np.float64)


def f_from_counts(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray, beta: float) -> np.ndarray:
    """F-beta from counts, 1.0 where tp = fp = fn = 0 (see the module docstring)."""
    b2 = beta * beta
    num = (1 + b2) * np.asarray(tp, dtype=np.float64)
    den = num + b2 * fn + fp
    return np.divide(num, den, out=np.ones_like(num), where=den > 0)


def row_fbeta(
    y: np.ndarray, p: np.ndarray, beta: float, threshold: float | np.ndarray = 0.5
) -> np.ndarray:
    """Each row's F-beta at `threshold` (whose mean is the samples average)."""
    y, pred = np.asarray(y).astype(bool), binarize(p, threshold)
    tp = (y & pred).sum(axis=1)
    return f_from_counts(tp, pred.sum(axis=1) - tp, y.sum(axis=1) - tp, beta)


def fbeta(
    y: np.ndarray,
    p: np.ndarray,
    beta: float,
    threshold: float | np.ndarray = 0.5,
    average: str = "micro",
) -> float:
    """F-beta of the decisions `p >= threshold`, averaged "micro" (pooled counts), "macro"
    (mean over labels) or "samples" (mean over rows)."""
    if average == "samples":
        return float(row_fbeta(y, p, beta, threshold).mean())
    y, pred = np.asarray(y).astype(bool), binarize(p, threshold)
    tp = (y & pred).sum(axis=0)
    fp, fn = pred.sum(axis=0) - tp, y.sum(axis=0) - tp
    if average == "micro":
        return float(f_from_counts(tp.sum(), fp.sum(), fn.sum(), beta))
    if average == "macro":
        return float(f_from_counts(tp, fp, fn, beta).mean())
    raise ValueError(f"average={average!r}; expected 'micro', 'macro' or 'samples'")


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
