"""Level-2 features for the meta-model: each member's class probabilities (optionally their
logs), numeric metadata columns of train.csv / the test table, and row statistics that tell
the meta-model how sure the members are and whether they agree.

Train and test rows are built by the same function, so their columns always line up.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from podium.competition import Competition, DataError
from podium.config import ConfigError
from podium.ensemble.members import Member
from podium.ensemble.schema import FeaturesConfig

_EPS = 1e-7


@dataclass
class Level2:
    train: np.ndarray  # (N_train, F)
    test: np.ndarray  # (N_test, F)
    names: list[str]


def entropy(p: np.ndarray) -> np.ndarray:
    return -(p * np.log(np.clip(p, _EPS, 1.0))).sum(axis=1)


def _member_blocks(
    probas: list[np.ndarray], members: list[Member], cfg: FeaturesConfig, classes: list[str]
):
    blocks, names = [], []
    for m, p in zip(members, probas, strict=True):
        blocks.append(p)
        names += [f"{m.name}:p_{c}" for c in classes]
        if cfg.logits:
            blocks.append(np.log(np.clip(p, _EPS, 1.0)))
            names += [f"{m.name}:logp_{c}" for c in classes]
        if cfg.row_stats:
            blocks += [entropy(p)[:, None], p.max(axis=1, keepdims=True)]
            names += [f"{m.name}:entropy", f"{m.name}:max_p"]
    mean = np.mean(probas, axis=0)
    if cfg.mean_proba and len(probas) > 1:
        blocks.append(mean)
        names += [f"mean:p_{c}" for c in classes]
    if cfg.row_stats and len(probas) > 1:
        vote = mean.argmax(axis=1)
        agree = np.mean([p.argmax(axis=1) == vote for p in probas], axis=0)
        blocks += [agree[:, None], entropy(mean)[:, None]]
        names += ["agreement", "mean:entropy"]
    return np.concatenate(blocks, axis=1), names


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
        c.target_column: "target column; it would leak the label into the stack",
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
    train, names = _member_blocks([m.oof for m in members], members, cfg, comp.classes)
    test, _ = _member_blocks([m.test for m in members], members, cfg, comp.classes)
    if cfg.metadata:
        check_metadata(cfg.metadata, comp)
        test_file = comp.cfg.test_csv or comp.cfg.sample_submission
        train = np.hstack(
            [train, _metadata(comp.train, cfg.metadata, str(comp.root / comp.cfg.train_csv))]
        )
        test_table = comp.test if comp.cfg.test_csv else comp.sample_submission
        test = np.hstack([test, _metadata(test_table, cfg.metadata, str(comp.root / test_file))])
        names += [f"meta:{c}" for c in cfg.metadata]
    return Level2(train.astype(np.float32), test.astype(np.float32), names)
