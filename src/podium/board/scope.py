"""Which competition a `podium board` or `podium lb` command is about, and where its runs,
configs, data and submissions are.

`-c CONFIG [key=value ...]`: the config's competition and `paths`, and the configs beside it
(each run folder is matched to the config file that makes it); `--comp NAME`: the default
paths and `configs/NAME/` where it exists; neither: the one competition under `runs/` (or the
one a submission's file name starts with).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from podium.config import Config, PathsConfig, load_config
from podium.errors import ConfigError

OWN_SECTIONS = ("ensemble.", "ensemble=", "tune.", "tune=")  # as podium.pipeline's


@dataclass(frozen=True)
class Scope:
    competition: str
    paths: PathsConfig
    config_dir: Path | None  # where the experiments' YAML files are looked for
    like: Config | None = None  # the config named on the command line
    # its key=value overrides, which every config of the competition takes as the stages'
    # members do (less the ensemble's and tune's own sections)
    overrides: tuple[str, ...] = ()

    @property
    def comp_dir(self) -> Path:
        return Path(self.paths.runs) / self.competition

    @property
    def submissions(self) -> Path:
        return Path(self.paths.submissions)


def competitions_on_disk(runs: Path) -> list[str]:
    """Competitions with a run folder (a folds.csv or any run) under `runs/`."""
    if not Path(runs).is_dir():
        return []
    return sorted(
        p.name
        for p in Path(runs).iterdir()
        if p.is_dir() and not p.name.startswith(".") and any(p.iterdir())
    )


def resolve_scope(
    config: Path | None = None,
    overrides: list[str] | None = None,
    competition: str | None = None,
    file_hint: str | None = None,
) -> Scope:
    if config is not None:
        cfg = load_config(config, overrides or [])
        shared = tuple(o for o in overrides or [] if not o.startswith(OWN_SECTIONS))
        return Scope(cfg.competition.name, cfg.paths, Path(config).parent, cfg, shared)
    if overrides:
        raise ConfigError(f"key=value overrides {overrides} need a config: -c CONFIG")
    paths = PathsConfig()
    if competition is None:
        found = competitions_on_disk(Path(paths.runs))
        if file_hint is not None:
            prefixed = [c for c in found if file_hint.startswith(f"{c}-")]
            found = sorted(prefixed, key=len)[-1:] if prefixed else found
        if len(found) != 1:
            where = f"{paths.runs}/ holds {found}" if found else f"no competition in {paths.runs}/"
            raise ConfigError(f"which competition? {where}; name it with --comp NAME or -c CONFIG")
        competition = found[0]
    config_dir = Path("configs") / competition
    return Scope(competition, paths, config_dir if config_dir.is_dir() else None)
