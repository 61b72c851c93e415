"""Folds for multilabel targets: iterative stratification (Sechidis et al. 2011, through
iterative-stratification's `MultilabelStratifiedKFold`), which balances every label's
positives across folds at once, where stratifying on the label set would leave most sets with
one row.

With groups (`folds.method: stratified_group`) the groups are split, not the rows: each group
becomes one row whose labels are those of any of its rows (a patient with a finding in one
image has it), the groups are stratified iteratively, and every row takes its group's fold.
Groups of very different sizes make the folds' row counts uneven; the label balance is kept
on groups. `group` (no stratification) uses scikit-learn's GroupKFold as for other tasks.
"""

from __future__ import annotations

import logging

import numpy as np
from iterstrat.ml_stratifiers import MultilabelStratifiedKFold

_log = logging.getLogger(__name__)


def multilabel_folds(
    y: np.ndarray,
    n_splits: int,
    seed: int,
    groups: np.ndarray | None,
    labels: list[str],
    source: str,
) -> np.ndarray:
    """(N,) fold of each row."""
    y = np.asarray(y, dtype=np.int64)
    rare = [(labels[j], int(n)) for j, n in enumerate(y.sum(axis=0)) if n < n_splits]
    if rare:
        _log.warning(
            "%s: label(s) %s have fewer positive rows than %d folds: some folds will not see "
            "them (their AUC is skipped there)",
            source,
            rare,
            n_splits,
        )
    splitter = MultilabelStratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    fold = np.full(len(y), -1, dtype=np.int64)
    if groups is None:
        for k, (_, valid) in enumerate(splitter.split(np.zeros(len(y)), y)):
            fold[valid] = k
        return fold
    names, group_of_row = np.unique(groups, return_inverse=True)
    per_group = np.zeros((len(names), y.shape[1]), np.int64)
    np.add.at(per_group, group_of_row, y)
    for k, (_, valid) in enumerate(splitter.split(np.zeros(len(names)), (per_group > 0))):
        fold[np.isin(group_of_row, valid)] = k
    return fold
