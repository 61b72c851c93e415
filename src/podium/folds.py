"""Fold assignment with scikit-learn's splitters: one `folds.csv` (id, fold) per competition,
shared by every experiment, deterministic for a seed. Its hash is recorded by every run so
that artifacts made on different folds are never mixed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupKFold, KFold, StratifiedGroupKFold, StratifiedKFold

from podium.competition import Competition
from podium.config import FoldsConfig
from podium.errors import DataError


def assign_folds(comp: Competition, cfg: FoldsConfig) -> pd.DataFrame:
    """Return a frame `id, fold` in train.csv order."""
    train = comp.train
    path = comp.root / comp.cfg.train_csv
    y = comp.task.folds.stratify_key(comp.targets)
    needs_groups = cfg.method in ("group", "stratified_group")
    if needs_groups and not comp.cfg.group_column:
        raise DataError(f"folds.method={cfg.method!r} needs competition.group_column")
    groups = train[comp.cfg.group_column].to_numpy() if needs_groups else None
    if needs_groups:
        assert groups is not None  # read above whenever needs_groups
        n_groups = len(np.unique(groups))
        if n_groups < cfg.n_splits:
            raise DataError(
                f"{path}: {n_groups} groups in {comp.cfg.group_column!r}, fewer than {cfg.n_splits} folds"
            )
    # a task that splits its own way (multilabel: iterative stratification)
    own = comp.task.folds.split(comp.targets, cfg.method, cfg.n_splits, cfg.seed, groups)
    if own is None and cfg.method in ("stratified", "stratified_group"):
        counts = pd.Series(y).value_counts()
        small = counts[counts < cfg.n_splits]
        if len(small):
            raise DataError(
                f"{path}: {comp.task.folds.describe_stratum(small.index[0])} has {small.iloc[0]} rows, fewer than "
                f"folds.n_splits={cfg.n_splits}; lower n_splits or use folds.method=kfold"
            )

    splitter = {
        "kfold": lambda: KFold(cfg.n_splits, shuffle=True, random_state=cfg.seed),
        "stratified": lambda: StratifiedKFold(cfg.n_splits, shuffle=True, random_state=cfg.seed),
        # GroupKFold shuffles only from sklearn 1.6 on; its split is deterministic anyway
        "group": lambda: GroupKFold(cfg.n_splits),
        "stratified_group": lambda: StratifiedGroupKFold(
            cfg.n_splits, shuffle=True, random_state=cfg.seed
        ),
    }[cfg.method]()
    fold = np.full(len(train), -1, dtype=np.int64)
    if own is not None:
        fold = own
    else:
        for k, (_, valid) in enumerate(splitter.split(np.zeros(len(y)), y, groups)):
            fold[valid] = k
    return pd.DataFrame({"id": comp.train_ids, "fold": fold})


def read_folds(path: Path, comp: Competition) -> pd.DataFrame:
    """Read folds.csv and check it covers exactly the train ids, in train.csv order."""
    folds = pd.read_csv(path, dtype={"id": str, "fold": np.int64}, keep_default_na=False)
    if list(folds["id"]) != list(comp.train_ids):
        raise DataError(
            f"{path} does not match the ids of {comp.root / comp.cfg.train_csv}; "
            "re-run `podium folds --force`"
        )
    return folds
