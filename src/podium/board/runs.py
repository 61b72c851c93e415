"""A competition's run folders as they lie on disk, and the config file that makes each.

Experiments (CNNs, tabular members, pseudo-label students) are `runs/<comp>/<exp>/`,
ensembles `runs/<comp>/ensemble/<name>/`, tune studies `runs/<comp>/tune/<study>/` (a study
is not an experiment row: its trials are summarised on their own). A folder is a run when it
holds the resolved `config.yaml` that every stage saves.

Each run is matched to its YAML file by loading every config beside the one named on the
command line (`configs/<comp>/` with `--comp`) and comparing the run folder each would write;
freshness is then judged against that file as it is today, exactly as a stage would. A run
with no such file is judged against its own saved config.yaml, which the page says.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from podium.board.scope import Scope
from podium.config import Config, from_dict, load_config
from podium.errors import USER_ERRORS
from podium.records import TuneStudy, read_json_or_none, read_study

_log = logging.getLogger(__name__)

SAVED_CONFIG = "config.yaml"
NOT_EXPERIMENTS = {"ensemble", "tune", "cache", "logs"}


@dataclass(frozen=True)
class RunFolder:
    name: str
    path: Path
    is_ensemble: bool
    resolved: dict[str, Any]  # its saved config.yaml, as plain data
    info: dict[str, Any]  # its run.json ({} where there is none)

    @property
    def kind(self) -> str:
        if self.is_ensemble:
            return "ensemble"
        return str(self.info.get("kind") or "?")


def _run_folder(path: Path, is_ensemble: bool) -> RunFolder | None:
    saved = path / SAVED_CONFIG
    if not saved.is_file():
        return None
    try:
        resolved = yaml.safe_load(saved.read_text()) or {}
    except (OSError, yaml.YAMLError):
        resolved = {}
    info = read_json_or_none(path / "run.json") or {}
    return RunFolder(path.name, path, is_ensemble, resolved, info)


def find_runs(comp_dir: Path) -> list[RunFolder]:
    """Every experiment and ensemble folder of the competition, by name."""
    runs = []
    for path in sorted(p for p in Path(comp_dir).glob("*") if p.is_dir()):
        if path.name in NOT_EXPERIMENTS or path.name.startswith("."):
            continue
        if (found := _run_folder(path, False)) is not None:
            runs.append(found)
    for path in sorted(p for p in (Path(comp_dir) / "ensemble").glob("*") if p.is_dir()):
        if (found := _run_folder(path, True)) is not None:
            runs.append(found)
    return runs


def find_studies(comp_dir: Path) -> list[TuneStudy]:
    studies = (read_study(p) for p in sorted((Path(comp_dir) / "tune").glob("*")) if p.is_dir())
    return [s for s in studies if s is not None]


@dataclass
class ConfigIndex:
    """The config files found for a competition, by the run folder each one makes."""

    by_run: dict[Path, tuple[Path, Config]] = field(default_factory=dict)
    problems: dict[Path, str] = field(default_factory=dict)  # files that did not load

    def config_of(self, run: RunFolder) -> tuple[Path | None, Config | None, str | None]:
        """(its file, the config to judge it by, why it is judged by its saved copy)."""
        found = self.by_run.get(run.path.resolve())
        if found is not None:
            return found[0], found[1], None
        try:
            cfg = from_dict(run.resolved, source=str(run.path / SAVED_CONFIG))
        except USER_ERRORS as e:
            return None, None, f"its saved config.yaml does not load ({_one_line(e)})"
        return None, cfg, "no config file makes this run folder; checked against its config.yaml"


def index_configs(scope: Scope) -> ConfigIndex:
    index = ConfigIndex()
    if scope.config_dir is None:
        return index
    for path in sorted(scope.config_dir.glob("*.y*ml")):
        try:
            cfg = load_config(path, list(scope.overrides))
        except USER_ERRORS as e:
            index.problems[path] = _one_line(e)
            _log.debug("board: %s does not load: %s", path, e)
            continue
        if cfg.competition.name != scope.competition or cfg.tune is not None:
            continue  # another competition's, or a study (its runs are trials)
        index.by_run.setdefault(cfg.run_dir.resolve(), (path, cfg))
    return index


def _one_line(e: BaseException) -> str:
    return "; ".join(line.strip() for line in str(e).splitlines() if line.strip())
