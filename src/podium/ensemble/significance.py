"""Is the chosen ensemble's gain over the best single member real, or a few lucky rows?

Every candidate is scored on the same OOF rows, so the comparison is paired:
- the rows the ensemble gets right that the member gets wrong ("fixed") against the reverse
  ("broken"), with the exact McNemar p-value of that split, where a row is right or wrong
  (classes, tags, the decided grades of an ordinal task; not a regression's values);
- a paired bootstrap of the metric and log-loss gains (both candidates on the same resampled
  rows), which holds for any metric (AUC, QWK) where a per-row count does not.
At the top of a leaderboard a gain of one or two rows is common, and its interval spans zero;
the report says so instead of letting a 0.0007 look like progress.

Rows are not always independent: a patient's images, a study's series, several renderings of
one digit. With `groups` (one label per row: the competition's `group_column`), the bootstrap
resamples groups with all their rows, and the McNemar test becomes a sign-flip permutation
test over the groups' (fixed - broken) counts, so correlated rows do not pass for more evidence
than they are.
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
    mcnemar_p: float | None  # with groups: the sign-flip test's p over the groups
    gains: dict[str, Gain]  # metric name -> gain, the competition metric and log_loss
    groups: int | None = None  # the number of groups resampled; None: rows are the unit

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict) -> PairedComparison:
        gains = {name: Gain(**g) for name, g in d["gains"].items()}
        return cls(d["fixed"], d["broken"], d["mcnemar_p"], gains, d.get("groups"))

    def summary(self, challenger: str, reference: str) -> str:
        head = f"{challenger} vs {reference}: "
        parts = []
        test = "exact McNemar" if self.groups is None else f"sign-flip over {self.groups} groups"
        if self.fixed is not None and self.mcnemar_p is not None:
            parts.append(
                f"fixes {self.fixed} rows, breaks {self.broken} ({test} p={self.mcnemar_p:.2f})"
            )
        over = "" if self.groups is None else " of groups"
        for name, g in self.gains.items():
            parts.append(
                f"{name} gain {g.observed:+.4f} (95% paired bootstrap{over} {g.low:+.4f} to "
                f"{g.high:+.4f}, {g.verdict})"
            )
        return head + "; ".join(parts)


def _signed(metric: Metric, a: float, b: float) -> float:
    return a - b if metric.greater_is_better else b - a


class _Resampler:
    """Bootstrap resamples of row indices: rows drawn with replacement, or, with `groups`,
    groups drawn with replacement and all their rows taken."""

    def __init__(self, n: int, groups: np.ndarray | None, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.n = n
        self.members: list[np.ndarray] | None = None
        if groups is not None:
            _, codes = np.unique(np.asarray(groups), return_inverse=True)
            order = np.argsort(codes, kind="stable")
            self.members = np.split(order, np.cumsum(np.bincount(codes))[:-1])

    def draw(self) -> np.ndarray:
        if self.members is None:
            return self.rng.integers(0, self.n, self.n)
        picked = self.rng.integers(0, len(self.members), len(self.members))
        return np.concatenate([self.members[g] for g in picked])

    def mean_draws(self, values: np.ndarray, n_boot: int) -> np.ndarray:
        """The mean of `values` on `n_boot` resamples (fast: per-group sums and counts)."""
        if self.members is None:
            return np.array([values[self.draw()].mean() for _ in range(n_boot)])
        sums = np.array([values[m].sum() for m in self.members])
        counts = np.array([len(m) for m in self.members], dtype=np.float64)
        picks = self.rng.integers(0, len(sums), (n_boot, len(sums)))
        return np.asarray(sums[picks].sum(axis=1) / counts[picks].sum(axis=1))


def _bootstrap(
    m: Metric,
    y: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    n_boot: int,
    seed: int,
    groups: np.ndarray | None = None,
) -> np.ndarray:
    """The gain of `a` over `b` on `n_boot` resamples of rows, or of groups with all their
    rows (the same resamples for both; the same seed gives every metric the same ones)."""
    draws = _Resampler(len(y), groups, seed)
    if m.per_row is not None:  # a mean of per-row terms: resample the difference vector
        diff = np.asarray(m.per_row(y, a) - m.per_row(y, b), dtype=np.float64)
        return draws.mean_draws(diff if m.greater_is_better else -diff, n_boot)
    out = []
    # rescoring costs O(N log N) per resample (AUC sorts): on big OOF sets fewer resamples,
    # never under 200, keep the stage to seconds
    n_boot = min(n_boot, max(200, RESCORED_ROWS_BUDGET // len(y)))
    with warnings.catch_warnings():  # a resample missing a class: AUC undefined, skipped
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        for _ in range(n_boot):
            rows = draws.draw()
            try:
                score_a, score_b = m(y[rows], a[rows]), m(y[rows], b[rows])
            except ValueError:
                continue
            if np.isfinite(score_a) and np.isfinite(score_b):
                out.append(_signed(m, score_a, score_b))
    return np.array(out)


SIGN_FLIPS = 20_000


def sign_flip_p(net: np.ndarray, seed: int = 0) -> float:
    """Two-sided p of the per-group nets (fixed - broken) under "either candidate is as
    likely to win each group": each group's sign flipped at random, `SIGN_FLIPS` times (the
    McNemar test is this with one row a group)."""
    net = np.asarray(net, dtype=np.int64)
    net = net[net != 0]
    if not len(net):
        return 1.0
    signs = np.random.default_rng(seed).choice([-1, 1], (SIGN_FLIPS, len(net)))
    extreme = np.abs(signs @ net) >= abs(int(net.sum()))
    return float((extreme.sum() + 1) / (SIGN_FLIPS + 1))


def compare(
    task: Task,
    y: np.ndarray,
    challenger: np.ndarray,
    reference: np.ndarray,
    n_boot: int = 1000,
    seed: int = 0,
    decided: tuple[np.ndarray, np.ndarray] | None = None,
    groups: np.ndarray | None = None,
) -> PairedComparison:
    """Paired comparison of two prediction arrays on the same rows `y`, on the task's metric
    and its validation loss. `decided`: the two arrays after the task's CV-honest decision
    (`podium.scoring.decided_oof`: thresholds, cut-points), which the row counts and the
    metric compare; the validation loss compares the predictions. `groups`: a label per row
    when rows are not independent (resampled and tested by group, see the module)."""
    a, b = decided if decided is not None else (challenger, reference)
    correct = task.stacking.correct if task.stacking is not None else None
    right_a, right_b = (correct(y, a), correct(y, b)) if correct else (None, None)
    fixed = broken = None  # no right / wrong rows (values): no McNemar count, the bootstrap alone
    p = None
    if right_a is not None and right_b is not None:
        fixed, broken = int((right_a & ~right_b).sum()), int((~right_a & right_b).sum())
        if groups is not None:
            _, codes = np.unique(np.asarray(groups), return_inverse=True)
            net = np.bincount(codes, weights=right_a.astype(int) - right_b.astype(int))
            p = sign_flip_p(np.rint(net), seed)
        else:
            p = binomtest(min(fixed, broken), fixed + broken, 0.5).pvalue if fixed + broken else 1.0

    gains = {}
    metrics = {m.name: m for m in (task.metric, task.valid_loss)}
    for name, m in metrics.items():
        one, two = (a, b) if m is task.metric else (challenger, reference)
        observed = _signed(m, m(y, one), m(y, two))
        boot = _bootstrap(m, y, one, two, n_boot, seed, groups)
        low, high = np.percentile(boot, [2.5, 97.5]) if len(boot) else (np.nan, np.nan)
        gains[name] = Gain(float(observed), float(low), float(high))
    n_groups = None if groups is None else len(np.unique(np.asarray(groups)))
    return PairedComparison(fixed, broken, None if p is None else float(p), gains, n_groups)


def bootstrap_means(
    values: np.ndarray, n_boot: int, groups: np.ndarray | None = None, seed: int = 0
) -> np.ndarray:
    """The mean of per-row `values` on `n_boot` resamples of the rows, or of the groups with
    all their rows (the mask ensemble's per-image gains: `podium.mask_ensemble.compare`)."""
    return _Resampler(len(values), groups, seed).mean_draws(values, n_boot)
