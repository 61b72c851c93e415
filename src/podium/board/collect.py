"""Everything the board shows, gathered from disk into one typed `Board`: a row per
experiment and ensemble, the submissions with their local score (solution.csv, through the
same scoring as `podium score`) and recorded leaderboard scores, the CV-versus-LB fits, and
the tune studies. Nothing is trained, predicted or written here."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from podium.board.config_diff import config_diff, show_value
from podium.board.freshness import Freshness, check_run
from podium.board.leaderboard import LbScore, leaderboard_path, list_submissions, read_leaderboard
from podium.board.runs import ConfigIndex, RunFolder, find_runs, find_studies, index_configs
from podium.board.scope import Scope
from podium.competition import Competition
from podium.config import Config
from podium.errors import USER_ERRORS
from podium.records import RunScores, TuneStudy, UnitRecord, read_scores, read_units
from podium.submission import score_on_solution

_log = logging.getLogger(__name__)

# files worth a link from an experiment's row, where they exist
LINKED = (
    "report.md",
    "report.png",
    "pseudo_report.md",
    "scores.json",
    "config.yaml",
    "oof.parquet",
    "test.parquet",
    "lr_find.png",
)


@dataclass
class ExperimentView:
    name: str
    kind: str
    run_dir: Path
    task: str
    model: str
    plan: str  # epochs x folds x seeds
    units_done: int
    units_planned: int
    config_file: Path | None
    diff: list[tuple[str, str]] | None
    scores: RunScores | None
    units: list[UnitRecord]
    train_seconds: float | None
    freshness: Freshness
    note: str | None  # how freshness was judged, where not by its config file
    links: list[Path] = field(default_factory=list)
    swa: float | None = None  # mean of the units' SWA validation scores
    members: list[str] = field(default_factory=list)


@dataclass
class SubmissionView:
    path: Path
    experiment: str
    made: datetime
    cv: float | None
    local: dict[str, float] | None  # all / public / private on solution.csv
    local_error: str | None
    lb: LbScore | None


@dataclass
class CvLbFit:
    """A straight line through (CV, leaderboard) points and their correlation."""

    label: str
    points: list[tuple[float, float, str]]  # cv, score, file
    slope: float | None
    intercept: float | None
    r: float | None  # Pearson's, from 3 points


@dataclass
class Board:
    competition: str
    metric: str
    greater_is_better: bool
    generated: datetime
    experiments: list[ExperimentView]
    submissions: list[SubmissionView]
    fits: list[CvLbFit]
    studies: list[TuneStudy]
    problems: dict[Path, str]  # config files that did not load
    overrides: tuple[str, ...] = ()  # the command line's key=value, applied to every config


def _plan(resolved: dict[str, Any]) -> tuple[str, int]:
    train, folds = resolved.get("train") or {}, resolved.get("folds") or {}
    n_folds = len(train.get("folds") or []) or int(folds.get("n_splits") or 0)
    seeds = len(train.get("seeds") or [0])
    return f"{train.get('epochs', '?')} x {n_folds} x {seeds}", n_folds * seeds


def _model(run: RunFolder) -> str:
    r = run.resolved
    if run.is_ensemble:
        return f"{len((r.get('ensemble') or {}).get('members') or [])} members"
    if r.get("tabular"):
        tab = r["tabular"]
        return f"{tab.get('model', '?')} @ {tab.get('image_size', '?')} px"
    size = (r.get("data") or {}).get("image_size")
    shown = "x".join(str(s) for s in size) if isinstance(size, list) else size
    return f"{(r.get('model') or {}).get('name', '?')} @ {shown}"


def _experiment(run: RunFolder, index: ConfigIndex, shared: dict) -> ExperimentView:
    config_file, cfg, note = index.config_of(run)
    if cfg is None or (note is not None and run.is_ensemble):
        # an ensemble names its members relative to its own file: without it, nothing to check
        why = (
            note
            if cfg is None
            else "no config file makes this ensemble (its members are named relative to it)"
        )
        freshness, note = Freshness("unknown", (why or "",)), None
    else:
        freshness = check_run(cfg, run.path, shared)
    units = read_units(run.path)
    plan, planned = _plan(run.resolved)
    seconds = [u.train_seconds for u in units if u.train_seconds is not None]
    scores = read_scores(run.path)
    if not units and scores is not None:  # tabular members and ensembles: their own fit time
        seconds = [scores.seconds] if scores.seconds is not None else []
    swa = [u.result["swa_score"] for u in units if "swa_score" in u.result]
    diff = config_diff(config_file) if config_file is not None else None
    tabular_or_ensemble = run.is_ensemble or bool(run.resolved.get("tabular"))
    return ExperimentView(
        name=run.name,
        kind=run.kind,
        run_dir=run.path,
        task=str((run.resolved.get("competition") or {}).get("task", "?")),
        model=_model(run),
        plan="" if tabular_or_ensemble else plan,
        units_done=sum(u.finished for u in units),
        units_planned=0 if tabular_or_ensemble else planned,
        config_file=config_file,
        diff=[(k, show_value(v)) for k, v in diff] if diff is not None else None,
        scores=scores,
        units=units,
        train_seconds=sum(seconds) if seconds else None,
        freshness=freshness,
        note=note,
        links=[run.path / f for f in LINKED if (run.path / f).exists()]
        + sorted(run.path.glob("*.ipynb"))
        + sorted(run.path.glob("*.html")),
        swa=float(np.mean(swa)) if swa else None,
        members=[str(m) for m in (run.info.get("members") or {})],
    )


def _competition(scope: Scope, index: ConfigIndex, runs: list[RunFolder]) -> Competition | None:
    """The competition's tables (for local scores), from any config of it that loads."""
    configs: list[Config] = [scope.like] if scope.like is not None else []
    configs += [cfg for _, cfg in index.by_run.values()]
    configs += [c for run in runs if (c := index.config_of(run)[1]) is not None]
    for cfg in configs:
        try:
            return Competition.from_config(cfg)
        except USER_ERRORS as e:
            _log.debug("board: competition from %s: %s", cfg.source, e)
    return None


def _submissions(scope: Scope, comp: Competition | None) -> list[SubmissionView]:
    recorded = read_leaderboard(leaderboard_path(scope.submissions, scope.competition))
    has_solution = comp is not None and comp.solution is not None
    views = []
    for sub in list_submissions(scope.submissions, scope.competition):
        local, error = None, None
        if has_solution and comp is not None:
            try:
                local = score_on_solution(comp, sub.path)
            except USER_ERRORS as e:
                error = str(e).splitlines()[0]
        views.append(
            SubmissionView(
                sub.path, sub.experiment, sub.made, sub.cv, local, error, recorded.get(sub.file)
            )
        )
    return views


def fit_line(label: str, points: list[tuple[float, float, str]]) -> CvLbFit:
    """Least squares through the points (from 2 distinct CVs); Pearson's r from 3 points."""
    x = np.array([p[0] for p in points], dtype=float)
    y = np.array([p[1] for p in points], dtype=float)
    slope = intercept = r = None
    if len(np.unique(x)) >= 2:
        slope, intercept = (float(v) for v in np.polyfit(x, y, 1))
    if len(points) >= 3 and np.std(x) > 0 and np.std(y) > 0:
        r = float(np.corrcoef(x, y)[0, 1])
    return CvLbFit(label, points, slope, intercept, r)


def _fits(submissions: list[SubmissionView]) -> list[CvLbFit]:
    lb = [
        (s.cv, s.lb.public, s.path.name)
        for s in submissions
        if s.cv is not None and s.lb and s.lb.public is not None
    ]
    local = [
        (s.cv, s.local["public"], s.path.name)
        for s in submissions
        if s.cv is not None and s.local and "public" in s.local
    ]
    fits = [fit_line("public LB (recorded)", lb)]
    if local:
        fits.append(fit_line("local Public (solution.csv)", local))
    return fits


def build_board(scope: Scope) -> Board:
    index = index_configs(scope)
    runs = find_runs(scope.comp_dir)
    shared: dict[str, Competition] = {}  # read once per competition, by every stamp
    experiments = [_experiment(run, index, shared) for run in runs]
    submissions = _submissions(scope, _competition(scope, index, runs))
    scored = [e.scores for e in experiments if e.scores is not None]
    return Board(
        competition=scope.competition,
        metric=scored[0].metric if scored else "score",
        greater_is_better=scored[0].greater_is_better if scored else True,
        generated=datetime.now(timezone.utc),
        experiments=experiments,
        submissions=submissions,
        fits=_fits(submissions),
        studies=find_studies(scope.comp_dir),
        problems=index.problems,
        overrides=scope.overrides,
    )
