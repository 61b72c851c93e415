"""The ensemble's members: each one's `oof.parquet` / `test.parquet` (and its per-fold test
predictions, `test_by_fold.parquet`, where it has them), loaded and checked
against the competition before anything is fitted on them. All members must come from the
competition's current folds.csv (the same fold for every id) and cover the same train and
test ids; a member that differs is named in the error, so a stale run is found at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from podium.artifacts import file_hash
from podium.competition import Competition
from podium.config import Config, load_related
from podium.errors import ArtifactError, ConfigError
from podium.predictions import OOF, TEST, TEST_BY_FOLD, read_oof, read_test, read_test_by_fold


@dataclass
class Member:
    """One level-1 experiment's predictions, aligned to train.csv / the test table's order."""

    name: str
    config: Path
    run_dir: Path
    oof: np.ndarray  # (N_train, K) the task's predictions
    test: np.ndarray  # (N_test, K)
    fingerprint: list[str]  # of its prediction files: the ensemble's input
    # {fold: (N_test, K)}: each fold's models alone (test_by_fold.parquet), where it has them
    test_by_fold: dict[int, np.ndarray] | None = None


def member_config(ensemble_cfg: Config, path: Path) -> Config:
    """A member's config, read where the ensemble looks for runs and data (its `paths`), so an
    ensemble run with `paths.runs=...` finds members trained under the same override."""
    cfg = load_related(path, ensemble_cfg)
    if cfg.competition.name != ensemble_cfg.competition.name:
        raise ConfigError(
            f"{ensemble_cfg.source}: member {path} is for competition {cfg.competition.name!r}, "
            f"the ensemble for {ensemble_cfg.competition.name!r}"
        )
    return cfg


def load_member(cfg: Config, path: Path, comp: Competition, fold: np.ndarray) -> Member:
    """One member's predictions, aligned to the competition's rows and checked to be made on
    its folds (`podium.predictions` refuses missing or extra ids, other folds and NaN)."""
    mcfg = member_config(cfg, path)
    name, run_dir = mcfg.name, mcfg.run_dir
    how = f"podium train -c {cfg.source} --exp {path.stem} (then oof and infer)"
    for file in (OOF, TEST):
        if not (run_dir / file).exists():
            raise ArtifactError(f"member {name!r}: {run_dir / file} not found; make it with: {how}")
    task = comp.task
    what = f"member {name!r}"
    try:
        oof = read_oof(run_dir / OOF, task, comp.train_ids, fold, f"{what} oof")
    except ArtifactError as e:
        raise ArtifactError(
            f"{e}; every member must use the competition's current folds and data: "
            f"retrain it with: podium train -c {cfg.source} --exp {path.stem} --force"
        ) from None
    test = read_test(run_dir / TEST, task, comp.test_ids, f"{what} test")
    fingerprint = [file_hash(run_dir / OOF), file_hash(run_dir / TEST)]
    by_fold = None
    if (run_dir / TEST_BY_FOLD).is_file():  # the candidates meet the test rows fold by fold
        by_fold = read_test_by_fold(run_dir / TEST_BY_FOLD, task, comp.test_ids, None, what)
        fingerprint.append(file_hash(run_dir / TEST_BY_FOLD))
    return Member(name, path, run_dir, oof, test, fingerprint, by_fold)


def load_members(
    cfg: Config, paths: list[Path], comp: Competition, fold: np.ndarray
) -> list[Member]:
    members = [load_member(cfg, p, comp, fold) for p in paths]
    names = [m.name for m in members]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ConfigError(f"{cfg.source}: members {twice} are listed more than once")
    return members
