"""What every ensemble candidate is fitted and scored on: the competition, its folds and the
members' predictions; and the stamp that records them, so an unchanged ensemble is not redone."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from podium.artifacts import file_hash, require
from podium.competition import Competition
from podium.config import Config
from podium.config.ensemble import EnsembleConfig
from podium.ensemble.fold_views import FoldViews, fold_views
from podium.ensemble.members import Member, load_members
from podium.ensemble.metadata_features import metadata_fingerprint
from podium.errors import ConfigError
from podium.fingerprint import Stamp, config_part
from podium.folds import read_folds
from podium.tasks import Task

NESTED_PROCEDURE = "candidates refitted inside the outer fold"
# the candidates the stage builds itself; a member may not take their names
BUILT_IN = ("mean", "blend", "logit_blend", "stack")


@dataclass
class Inputs:
    comp: Competition
    members: list[Member]
    y: np.ndarray  # the task's targets, train.csv order
    fold: np.ndarray  # fold of each train row (folds.csv)
    folds_hash: str

    @property
    def task(self) -> Task:
        return self.comp.task

    @cached_property
    def views(self) -> FoldViews:
        """The members' test predictions as the candidates meet them (fold by fold where
        every member has them: `podium.ensemble.fold_views`)."""
        return fold_views([m.test_by_fold for m in self.members], [m.test for m in self.members])


def load_inputs(cfg: Config, section: EnsembleConfig) -> Inputs:
    comp = Competition.from_config(cfg)
    require(cfg.folds_path, "folds file", f"podium folds -c {cfg.source}")
    fold = read_folds(cfg.folds_path, comp)["fold"].to_numpy()
    members = load_members(cfg, section.member_paths(cfg.source), comp, fold)
    clash = [m.name for m in members if m.name in BUILT_IN]
    if clash:
        raise ConfigError(
            f"{cfg.source}: member names {clash} clash with the candidates {BUILT_IN}"
        )
    return Inputs(comp, members, comp.targets, fold, file_hash(cfg.folds_path))


def stamp(cfg: Config, section: EnsembleConfig, inputs: Inputs, out: Path) -> Stamp:
    """Changes when the section, the folds, the labels, any member's predictions, the
    metadata features' cells or the nested selection's procedure change."""
    return Stamp(
        out / "ensemble.json",
        {
            "section": config_part(section),
            "competition": config_part(cfg.competition),
            "folds": inputs.folds_hash,
            "labels": inputs.comp.labels_fingerprint,
            "members": {m.name: m.fingerprint for m in inputs.members},
            # how the nested selection is computed: ensembles scored before it refitted the
            # candidates inside the outer fold (#23 item 4) are redone once
            "nested_selection": NESTED_PROCEDURE,
            # the metadata features' cells, where the stack reads them (else no part)
            **(
                {"metadata": metadata_fingerprint(section.features.metadata, inputs.comp)}
                if section.features.metadata
                else {}
            ),
        },
    )
