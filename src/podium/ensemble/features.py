"""Level-2 features for the meta-model: what the task makes of the members' predictions
(for classification: each member's probabilities, optionally their logs, and row statistics
that tell how sure the members are and whether they agree), and numeric metadata columns of
train.csv / the test table.

Train and test rows are built by the same function, so their columns always line up.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from podium.competition import Competition
from podium.ensemble.members import Member
from podium.ensemble.schema import FeaturesConfig
from podium.errors import ConfigError, DataError


@dataclass
class Level2:
    train: np.ndarray  # (N_train, F)
    test: np.ndarray  # (N_test, F)
    names: list[str]


def _metadata(table: pd.DataFrame, columns: list[str], where: str) -> np.ndarray:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise DataError(
            f"{where}: ensemble.features.metadata names column(s) {missing}, which it lacks "
            f"(it has {list(table.columns)})"
        )
    out = np.empty((len(table), len(columns)))
    for j, c in enumerate(columns):
        values = pd.to_numeric(table[c].replace("", np.nan), errors="coerce")
        bad = values.isna() & (table[c].astype(str).str.strip() != "")
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(
                f"{where}: line {i + 2}, metadata column {c!r} = {table[c].iloc[i]!r} is not numeric"
            )
        out[:, j] = values.to_numpy(
            np.float64
        )  # empty cells stay NaN: XGBoost treats them as missing
    return out


def check_metadata(columns: list[str], comp: Competition) -> None:
    """Refuse the competition's own target, id and group columns as meta-model features."""
    c = comp.cfg
    why = {
        # every target column (several for regression targets or multilabel 0/1 columns)
        **{t: "target column; it would leak the label into the stack" for t in c.target_names},
        c.id_column: "id column; a row's name is not a feature (the meta-model would memorise rows)",
    }
    if c.group_column:
        why[c.group_column] = (
            "group column; the folds keep groups apart, so the meta-model would memorise groups"
        )
    for col in columns:
        if col in why:
            raise ConfigError(
                f"ensemble.features.metadata: {col!r} is the competition's {why[col]}"
            )


def build_level2(members: list[Member], comp: Competition, cfg: FeaturesConfig) -> Level2:
    task, names = comp.task, [m.name for m in members]
    opts = (cfg.logits, cfg.row_stats, cfg.mean_proba)
    train, feature_names = task.level2_features([m.oof for m in members], names, *opts)
    test, _ = task.level2_features([m.test for m in members], names, *opts)
    if cfg.metadata:
        check_metadata(cfg.metadata, comp)
        test_file = comp.cfg.test_csv or comp.cfg.sample_submission
        train = np.hstack(
            [train, _metadata(comp.train, cfg.metadata, str(comp.root / comp.cfg.train_csv))]
        )
        test_table = comp.test if comp.cfg.test_csv else comp.sample_submission
        test = np.hstack([test, _metadata(test_table, cfg.metadata, str(comp.root / test_file))])
        feature_names += [f"meta:{c}" for c in cfg.metadata]
    return Level2(train.astype(np.float32), test.astype(np.float32), feature_names)
