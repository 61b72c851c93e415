"""The ensemble's members: each one's `oof.parquet` / `test.parquet`, loaded and checked
against the competition before anything is fitted on them. All members must come from the
competition's current folds.csv (same hash, same fold per id) and cover the same train and
test ids; a member that differs is named in the error, so a stale run is found at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from podium.artifacts import ArtifactError, proba_columns, read_json, read_predictions
from podium.competition import Competition
from podium.config import Config, ConfigError, load_config


@dataclass
class Member:
    """One level-1 experiment's predictions, aligned to train.csv / the test table's order."""

    name: str
    config: Path
    run_dir: Path
    oof: np.ndarray  # (N_train, C) probabilities
    test: np.ndarray  # (N_test, C) probabilities


def member_config(ensemble_cfg: Config, path: Path) -> Config:
    """A member's config, read where the ensemble looks for runs and data (its `paths`), so an
    ensemble run with `paths.runs=...` finds members trained under the same override."""
    paths = ensemble_cfg.paths
    cfg = load_config(
        path,
        [
            f"paths.runs={paths.runs}",
            f"paths.data={paths.data}",
            f"paths.submissions={paths.submissions}",
        ],
    )
    if cfg.competition.name != ensemble_cfg.competition.name:
        raise ConfigError(
            f"{ensemble_cfg.source}: member {path} is for competition {cfg.competition.name!r}, "
            f"the ensemble for {ensemble_cfg.competition.name!r}"
        )
    return cfg


def _aligned(df: pd.DataFrame, ids: np.ndarray, path: Path, name: str, split: str) -> pd.DataFrame:
    dup = df["id"][df["id"].duplicated()]
    if len(dup):
        raise ArtifactError(f"member {name!r}: {path} lists id {dup.iloc[0]!r} twice")
    have = set(df["id"])
    missing = [i for i in ids if i not in have]
    extra = sorted(have - set(ids))
    if missing or extra:
        raise ArtifactError(
            f"member {name!r}: {path} does not cover the {split} ids: {len(missing)} missing "
            f"(e.g. {missing[:3]}), {len(extra)} unexpected (e.g. {extra[:3]}); re-run its "
            "oof/infer on this competition's current data"
        )
    return df.set_index("id").loc[ids]


def load_member(
    cfg: Config, path: Path, comp: Competition, folds: pd.DataFrame, folds_hash: str
) -> Member:
    mcfg = member_config(cfg, path)
    name, run_dir = mcfg.name, mcfg.run_dir
    how = f"podium train -c {cfg.source} --exp {path.stem} (then oof and infer)"
    for file in ("run.json", "oof.parquet", "test.parquet"):
        if not (run_dir / file).exists():
            raise ArtifactError(f"member {name!r}: {run_dir / file} not found; make it with: {how}")
    recorded = read_json(run_dir / "run.json").get("folds_hash")
    if recorded != folds_hash:
        raise ArtifactError(
            f"member {name!r} ({run_dir}) was made on folds hash {recorded}, but "
            f"{cfg.folds_path} hashes to {folds_hash}: every member must use the same folds; "
            f"retrain it with: podium train -c {cfg.source} --exp {path.stem} --force"
        )
    columns = proba_columns(comp.classes)
    oof = read_predictions(run_dir / "oof.parquet", comp.classes, f"member {name!r} oof")
    oof = _aligned(oof, comp.train_ids, run_dir / "oof.parquet", name, "train")
    fold = folds.set_index("id").loc[comp.train_ids, "fold"].to_numpy()
    differs = np.flatnonzero(oof["fold"].to_numpy() != fold)
    if len(differs):
        i = int(differs[0])
        raise ArtifactError(
            f"member {name!r}: {run_dir / 'oof.parquet'} puts id {comp.train_ids[i]!r} in fold "
            f"{int(oof['fold'].iloc[i])}, {cfg.folds_path} in fold {int(fold[i])}: every member "
            "must use the same folds"
        )
    test = read_predictions(run_dir / "test.parquet", comp.classes, f"member {name!r} test")
    test = _aligned(test, comp.test_ids, run_dir / "test.parquet", name, "test")
    return Member(
        name=name,
        config=path,
        run_dir=run_dir,
        oof=oof[columns].to_numpy(np.float64),
        test=test[columns].to_numpy(np.float64),
    )


def load_members(
    cfg: Config, paths: list[Path], comp: Competition, folds: pd.DataFrame, folds_hash: str
) -> list[Member]:
    members = [load_member(cfg, p, comp, folds, folds_hash) for p in paths]
    names = [m.name for m in members]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ConfigError(f"{cfg.source}: members {twice} are listed more than once")
    return members
