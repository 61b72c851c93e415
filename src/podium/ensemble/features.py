"""Level-2 features for the meta-model: what the task makes of the members' predictions
(for classification: each member's probabilities, optionally their logs, and row statistics
that tell how sure the members are and whether they agree), and metadata columns of train.csv /
the test table (podium.ensemble.metadata_features: numeric, or one-hot categories).

Train and test rows are built by the same function, so their columns always line up.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from podium.competition import Competition
from podium.config.ensemble import FeaturesConfig
from podium.ensemble.fold_views import FoldViews, fold_views
from podium.ensemble.members import Member
from podium.ensemble.metadata_features import metadata_columns, metadata_features
from podium.ensemble.stack import stacking
from podium.errors import ConfigError


@dataclass
class Level2:
    train: np.ndarray  # (N_train, F)
    test: np.ndarray  # (N_test, F)
    names: list[str]


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


def build_level2(
    members: list[Member], comp: Competition, cfg: FeaturesConfig, views: FoldViews | None = None
) -> Level2:
    """The train rows' features from the members' OOF, the test rows' from their test
    `views` (stacked fold by fold: `podium.ensemble.fold_views`; metadata repeated per view;
    None: the members' own views)."""
    if views is None:
        views = fold_views([m.test_by_fold for m in members], [m.test for m in members])
    names = [m.name for m in members]
    opts = (cfg.logits, cfg.row_stats, cfg.mean_proba)
    train, feature_names = stacking(comp.task).level2_features(
        [m.oof for m in members], names, *opts
    )
    test = test_level2(views.tests, names, comp, cfg)
    columns = metadata_columns(cfg.metadata, comp)
    if columns:
        check_metadata(columns, comp)
        c = comp.cfg
        test_table = comp.test if c.test_csv else comp.sample_submission
        where = (str(comp.root / c.train_csv), str(comp.root / (c.test_csv or c.sample_submission)))
        meta_train, meta_test, meta_names = metadata_features(
            columns, comp, comp.train, test_table, where
        )
        train, test = np.hstack([train, meta_train]), np.hstack([test, views.tile(meta_test)])
        feature_names += meta_names
    return Level2(train.astype(np.float32), test.astype(np.float32), feature_names)


def test_level2(
    tests: list[np.ndarray], names: list[str], comp: Competition, cfg: FeaturesConfig
) -> np.ndarray:
    """The test rows' level-2 features from the members' test predictions, before any
    metadata columns: what the stack predicts on, here and in `podium predict` (which has no
    train rows; a stack over metadata columns is not exported)."""
    opts = (cfg.logits, cfg.row_stats, cfg.mean_proba)
    test, _ = stacking(comp.task).level2_features(tests, names, *opts)
    return test.astype(np.float32)
