"""The mask ensemble's inputs: each member's `oof_maps.npy` / `test_maps.npy` (`podium.mask_store`)
loaded and checked before anything is fitted on them, as `podium.ensemble.Inputs` (the same
record the row ensemble fills with prediction rows), so its candidates, nested selection and
report are reused on dense maps.

A member must be a segmentation experiment of the ensemble's competition, with the same
`folds:` section (so the same folds.csv), OOF maps predicted on the folds folds.csv gives
today, and the same `data.image_size` as the first member (maps are blended pixel by pixel);
anything else is refused with one line that names the member.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from podium.artifacts import file_hash, require
from podium.competition import Competition
from podium.config import Config
from podium.ensemble.inputs import BUILT_IN, Inputs
from podium.ensemble.members import Member, member_config
from podium.errors import ArtifactError, ConfigError
from podium.folds import read_folds
from podium.mask_store import OOF_MAPS, TEST_MAPS, read_maps
from podium.segmentation.masks import at_size

# the candidates the mask ensemble builds itself; a member may not take their names
MASK_BUILT_IN = (*BUILT_IN, "blend_gate")


def masks_at(y: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(N, C, H, W) masks (or ragged ones) at the maps' size (nearest, as the units'
    targets), as bool."""
    return at_size(y, size).astype(bool)


def _check_alike(cfg: Config, mcfg: Config, path: Path, size: tuple[int, int]) -> None:
    """Refuse a member on other folds or at another image size, naming it."""
    name = f"member {mcfg.name!r} ({path})"
    if mcfg.folds.model_dump() != cfg.folds.model_dump():
        raise ConfigError(
            f"{cfg.source}: {name} uses other folds ({mcfg.folds.model_dump()}) than the "
            f"ensemble ({cfg.folds.model_dump()}); members must share the competition's folds"
        )
    if tuple(mcfg.data.image_size) != tuple(size):
        raise ConfigError(
            f"{cfg.source}: {name} predicts maps of data.image_size {list(mcfg.data.image_size)}, "
            f"the first member {list(size)}; blended maps need one size"
        )


def check_blendable(cfg: Config, members: list[Config]) -> None:
    """Refuse (naming it) a member whose folds differ from the ensemble's or whose image size
    differs from the first member's. The pipeline calls it with the members as it trains them
    (command-line overrides applied), so such a member is refused before anything trains."""
    size = _size(members[0])
    for mcfg in members:
        _check_alike(cfg, mcfg, Path(mcfg.source or mcfg.name), size)


def _size(cfg: Config) -> tuple[int, int]:
    h, w = cfg.data.image_size
    return int(h), int(w)


def load_mask_member(
    cfg: Config, path: Path, mcfg: Config, comp: Competition, fold: np.ndarray
) -> Member:
    """One member's OOF and test maps in train.csv / the test table's order."""
    run_dir, name = mcfg.run_dir, mcfg.name
    how = f"podium oof -c {cfg.source} --exp {path.stem} (and infer)"
    for file in (OOF_MAPS, TEST_MAPS):
        if not (run_dir / file).is_file():
            raise ArtifactError(f"member {name!r}: {run_dir / file} not found; make it with: {how}")
    try:
        oof = read_maps(run_dir / OOF_MAPS, [str(i) for i in comp.train_ids], fold)
    except ArtifactError as e:
        raise ArtifactError(
            f"member {name!r}: {e}; every member must use the competition's current folds: "
            f"podium oof -c {cfg.source} --exp {path.stem} --force"
        ) from None
    test = read_maps(run_dir / TEST_MAPS, [str(i) for i in comp.test_ids])
    fingerprint = [file_hash(run_dir / OOF_MAPS), file_hash(run_dir / TEST_MAPS)]
    return Member(name, path, run_dir, oof, test, fingerprint)


def load_mask_inputs(cfg: Config) -> Inputs:
    """The competition, its folds, the targets at the members' map size and the members."""
    comp = Competition.from_config(cfg)
    require(cfg.folds_path, "folds file", f"podium folds -c {cfg.source}")
    fold = read_folds(cfg.folds_path, comp)["fold"].to_numpy()
    configs = [(p, member_config(cfg, p)) for p in cfg.section("ensemble").member_paths(cfg.source)]
    members = [load_mask_member(cfg, p, mcfg, comp, fold) for p, mcfg in configs]
    shape = members[0].oof.shape[2:]
    for m in members:  # run with other overrides than the pipeline checked: the maps tell
        if m.oof.shape[2:] != shape or m.test.shape[2:] != shape:
            raise ArtifactError(
                f"{cfg.source}: member {m.name!r} ({m.run_dir}) has maps of {list(m.oof.shape[2:])} "
                f"px, the first member {list(shape)}; blended maps need one size"
            )
    names = [m.name for m in members]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ConfigError(f"{cfg.source}: members {twice} are listed more than once")
    clash = [n for n in names if n in MASK_BUILT_IN]
    if clash:
        raise ConfigError(
            f"{cfg.source}: member names {clash} clash with the candidates {MASK_BUILT_IN}"
        )
    y = masks_at(comp.targets, (int(shape[0]), int(shape[1])))
    return Inputs(comp, members, y, fold, file_hash(cfg.folds_path))
