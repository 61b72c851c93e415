"""Is the chosen ensemble's gain over the best single member real, or a few lucky rows?

Every candidate is scored on the same OOF rows, so the comparison is paired:
- the rows the ensemble gets right that the member gets wrong ("fixed") against the reverse
  ("broken"), with the exact McNemar p-value of that split, where a row is right or wrong
  (classes, tags, the decided grades of an ordinal task; not a regression's values);
- a paired bootstrap of the metric and log-loss gains (both candidates on the same resampled
  rows), which holds for any metric (AUC, QWK) where a per-row count does not.
At the top of a leaderboard a gain of one or two rows is common, and its interval spans zero;
the report says so instead of letting a 0.0007 look like progress.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass

import numpy as np
from scipy.stats import binomtest
from sklearn.exceptions import UndefinedMetricWarning

from podium.metrics import Metric
from podium.tasks import Task

RESCORED_ROWS_BUDGET = 5_000_000  # rows rescored per metric when the metric is not a row mean


@dataclass(frozen=True)
class Gain:
    """`observed` and the bootstrap interval of (challenger - reference), signed so that a
    positive gain means the challenger is better."""

    observed: float
    low: float
    high: float

    @property
    def significant(self) -> bool:
        """A gain beyond noise: the whole interval above zero."""
        return self.low > 0

    @property
    def verdict(self) -> str:
        """What the interval says, in the report's words: clear of zero on either side is a
        gain (or a loss) beyond noise; an interval holding zero (or none) is within noise."""
        if self.low > 0:
            return "a gain beyond noise"
        if self.high < 0:
            return "a loss beyond noise"
        return "within noise"


@dataclass(frozen=True)
class PairedComparison:
    # the McNemar count; None where a row is neither right nor wrong (a regression's values)
    fixed: int | None  # rows the challenger gets right and the reference wrong
    broken: int | None  # the reverse
    mcnemar_p: float | None
    gains: dict[str, Gain]  # metric name -> gain, the competition metric and log_loss

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict) -> PairedComparison:
        gains = {name: Gain(**g) for name, g in d["gains"].items()}
        return cls(d["fixed"], d["broken"], d["mcnemar_p"], gains)

    def summary(self, challenger: str, reference: str) -> str:
        head = f"{challenger} vs {reference}: "
        parts = []
        if self.fixed is not None and self.mcnemar_p is not None:
            parts.append(
                f"fixes {self.fixed} rows, breaks {self.broken} "
                f"(exact McNemar p={self.mcnemar_p:.2f})"
            )
        for name, g in self.gains.items():
            parts.append(
                f"{name} gain {g.observed:+.4f} (95% paired bootstrap {g.low:+.4f} to "
                f"{g.high:+.4f}, {g.verdict})"
            )
        return head + "; ".join(parts)


def _signed(metric: Metric, a: float, b: float) -> float:
    return a - b if metric.greater_is_better else b - a


def _bootstrap(
    m: Metric, y: np.ndarray, a: np.ndarray, b: np.ndarray, n_boot: int, seed: int
) -> np.ndarray:
    """The gain of `a` over `b` on `n_boot` row resamples (the same rows for both; the same
    seed gives every metric the same resamples)."""
    rng = np.random.default_rng(seed)
    if m.per_row is not None:  # a mean of per-row terms: resample the difference vector
        diff = np.asarray(m.per_row(y, a) - m.per_row(y, b), dtype=np.float64)
        diff = diff if m.greater_is_better else -diff
        return np.array([diff[rng.integers(0, len(y), len(y))].mean() for _ in range(n_boot)])
    out = []
    # rescoring costs O(N log N) per resample (AUC sorts): on big OOF sets fewer resamples,
    # never under 200, keep the stage to seconds
    n_boot = min(n_boot, max(200, RESCORED_ROWS_BUDGET // len(y)))
    with warnings.catch_warnings():  # a resample missing a class: AUC undefined, skipped
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        for _ in range(n_boot):
            rows = rng.integers(0, len(y), len(y))
            try:
                score_a, score_b = m(y[rows], a[rows]), m(y[rows], b[rows])
            except ValueError:
                continue
            if np.isfinite(score_a) and np.isfinite(score_b):
                out.append(_signed(m, score_a, score_b))
    return np.array(out)


def compare(
    task: Task,
    y: np.ndarray,
    challenger: np.ndarray,
    reference: np.ndarray,
    n_boot: int = 1000,
    seed: int = 0,
    decided: tuple[np.ndarray, np.ndarray] | None = None,
) -> PairedComparison:
    """Paired comparison of two prediction arrays on the same rows `y`, on the task's metric
    and its validation loss. `decided`: the two arrays after the task's CV-honest decision
    (`podium.scoring.decided_oof`: thresholds, cut-points), which the row counts and the
    metric compare; the validation loss compares the predictions."""
    a, b = decided if decided is not None else (challenger, reference)
    correct = task.stacking.correct if task.stacking is not None else None
    right_a, right_b = (correct(y, a), correct(y, b)) if correct else (None, None)
    fixed = broken = None  # no right / wrong rows (values): no McNemar count, the bootstrap alone
    p = None
    if right_a is not None and right_b is not None:
        fixed, broken = int((right_a & ~right_b).sum()), int((~right_a & right_b).sum())
        p = binomtest(min(fixed, broken), fixed + broken, 0.5).pvalue if fixed + broken else 1.0

    gains = {}
    metrics = {m.name: m for m in (task.metric, task.valid_loss)}
    for name, m in metrics.items():
        one, two = (a, b) if m is task.metric else (challenger, reference)
        observed = _signed(m, m(y, one), m(y, two))
        boot = _bootstrap(m, y, one, two, n_boot, seed)
        low, high = np.percentile(boot, [2.5, 97.5]) if len(boot) else (np.nan, np.nan)
        gains[name] = Gain(float(observed), float(low), float(high))
    return PairedComparison(fixed, broken, None if p is None else float(p), gains)
