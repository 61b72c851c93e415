"""Reading back what the stages wrote, as plain JSON and CSV, into small typed records: a run's
`scores.json` (oof, tabular, ensemble), a unit's `result.json` and `history.csv`, a tune
study's `summary.json` and `trials.csv`, and `run.json`.

The one reader of those files for the board (podium.board) and the trackers
(podium.tracking): score blocks are read back through `podium.metrics.ScoreBlock.from_json`
(the type that wrote them); the rest is plain data, so when a file's layout changes, this
module is the one place to adapt. Missing keys read as None (older runs, other kinds).
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from podium.metrics import ScoreBlock

SCORES = "scores.json"
RESULT = "result.json"
HISTORY = "history.csv"


def _number(value: Any) -> float | None:
    """A finite float, or None (missing, text, NaN)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def read_json_or_none(path: Path) -> dict[str, Any] | None:
    """A JSON object, or None where the file is missing, torn or not an object."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def read_block(block: Any, metric: str) -> ScoreBlock | None:
    """A score block as the stages write it (`ScoreBlock.from_json`), or None where it is
    missing or in another layout (a run scored before `valid_loss`: `podium oof` again)."""
    if not isinstance(block, dict):
        return None
    try:
        return ScoreBlock.from_json(block, metric)
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


@dataclass(frozen=True)
class ScoreSummary:
    """A score without its folds: an ensemble's candidate row, its nested-selection CV."""

    score: float | None
    valid_loss: float | None = None
    fold_mean: float | None = None
    fold_std: float | None = None

    @classmethod
    def from_json(cls, block: dict[str, Any], metric: str) -> ScoreSummary:
        return cls(
            *(_number(block.get(k)) for k in (metric, "valid_loss", "fold_mean", "fold_std"))
        )


@dataclass(frozen=True)
class Candidate:
    """One row of an ensemble's candidate table."""

    name: str
    kind: str
    score: ScoreSummary
    note: str = ""


@dataclass(frozen=True)
class Comparison:
    """An ensemble's paired comparison of its choice with its best member, on the same rows."""

    member: str
    fixed: int | None
    broken: int | None
    mcnemar_p: float | None
    gains: dict[str, tuple[float | None, float | None, float | None]]  # observed, low, high


@dataclass(frozen=True)
class RunScores:
    """A run's scores.json: the CV and what oof / tabular / ensemble scored beside it."""

    metric: str
    greater_is_better: bool
    cv: float | None
    final: ScoreBlock | None  # None: not in the current layout
    valid_loss_name: str = "valid_loss"  # which loss `valid_loss` is (log_loss, mse, ...)
    checkpoint: str | None = None  # the weights the CV predicted with (train.checkpoint)
    views: dict[str, ScoreBlock] = field(default_factory=dict)  # each TTA view alone
    other_checkpoint: tuple[str, ScoreBlock] | None = None  # ("best" | "last", its scores)
    snapshots: dict[str, ScoreBlock] = field(default_factory=dict)
    seconds: float | None = None
    chosen: str | None = None  # an ensemble's chosen candidate
    candidates: list[Candidate] = field(default_factory=list)
    nested: ScoreSummary | None = None  # an ensemble's nested-selection CV
    vs_best_member: Comparison | None = None

    @property
    def tta_gain(self) -> float | None:
        """The merged views' score minus the identity view's, signed so that positive is
        better; None without an identity view or with one view only."""
        identity = self.views.get("identity")
        if identity is None or len(self.views) < 2 or self.cv is None:
            return None
        gain = self.cv - identity.score
        return gain if self.greater_is_better else -gain

    def metrics(self) -> dict[str, float]:
        """The CV as flat named numbers (what a tracker logs)."""
        m, out = self.metric, dict[str, float | None]()
        out[f"cv_{m}"] = self.cv
        if self.final is not None:
            out[f"cv_{self.valid_loss_name}"] = self.final.valid_loss
            out[f"cv_{m}_fold_mean"] = self.final.fold_mean
            out[f"cv_{m}_fold_std"] = self.final.fold_std
            for k, f in self.final.folds.items():
                out[f"fold{k}_{m}"] = f.score
            for name, value in self.final.secondary.items():
                out[f"cv_{name}"] = value
            if (decision := self.final.decision) is not None:  # in-sample, on every OOF row
                out[f"{decision.kind}_fit_{m}"] = decision.fit_score
        for view, block in self.views.items():
            out[f"view_{view}_{m}"] = block.score
        if self.other_checkpoint is not None:
            name, block = self.other_checkpoint
            out[f"{name}_checkpoint_{m}"] = block.score
        if self.nested is not None:
            out[f"nested_selection_{m}"] = self.nested.score
        return {k: x for k, v in out.items() if (x := _number(v)) is not None}


def _blocks(d: Any, metric: str) -> dict[str, ScoreBlock]:
    """A mapping of named score blocks (views, snapshots), those that read."""
    items = d.items() if isinstance(d, dict) else ()
    return {str(k): b for k, v in items if (b := read_block(v, metric)) is not None}


def scores_from_json(d: dict[str, Any]) -> RunScores:
    metric = str(d.get("metric", "score"))
    other = next(
        (
            (k.split("_")[0], b)
            for k in ("best_checkpoint", "last_checkpoint")
            if (b := read_block(d.get(k), metric)) is not None
        ),
        None,
    )
    vs = d.get("vs_best_member")
    comparison = None
    if isinstance(vs, dict):
        gains = {
            str(name): (_number(g.get("observed")), _number(g.get("low")), _number(g.get("high")))
            for name, g in (vs.get("gains") or {}).items()
            if isinstance(g, dict)
        }
        comparison = Comparison(
            str(vs.get("member", "")),
            vs.get("fixed"),
            vs.get("broken"),
            _number(vs.get("mcnemar_p")),
            gains,
        )
    candidates = [
        Candidate(
            str(name),
            str(c.get("kind", "")),
            ScoreSummary.from_json(c, metric),
            c.get("note") or "",
        )
        for name, c in (d.get("candidates") or {}).items()
        if isinstance(c, dict)
    ]
    nested = d.get("nested_selection")
    return RunScores(
        metric=metric,
        greater_is_better=bool(d.get("greater_is_better", True)),
        cv=_number(d.get("cv")),
        final=read_block(d.get("final"), metric),
        valid_loss_name=str(d.get("valid_loss_name", "valid_loss")),
        checkpoint=(d.get("settings") or {}).get("checkpoint"),
        views=_blocks(d.get("views"), metric),
        other_checkpoint=other,
        snapshots=_blocks(d.get("snapshots"), metric),
        seconds=_number(d.get("seconds")),
        chosen=d.get("chosen"),
        candidates=candidates,
        nested=ScoreSummary.from_json(nested, metric) if isinstance(nested, dict) else None,
        vs_best_member=comparison,
    )


def read_scores(run_dir: Path) -> RunScores | None:
    """`run_dir/scores.json`, or None where there is none (not predicted yet) or it is torn."""
    d = read_json_or_none(Path(run_dir) / SCORES)
    return scores_from_json(d) if d is not None else None


# ---- units ---------------------------------------------------------------------------------


def read_history(path: Path) -> list[dict[str, float]]:
    """history.csv as rows of numbers (one per epoch; empty where there is no file)."""
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError:
        return []
    out = []
    for row in rows:
        numbers = {}
        for k, v in row.items():
            try:
                numbers[k] = float(v)
            except (TypeError, ValueError):
                continue
        out.append(numbers)
    return out


def result_numbers(result: dict[str, Any]) -> dict[str, float]:
    """A unit's result.json as its numbers (scores, epochs, seconds); stamp fields dropped."""
    return {
        k: v
        for k, raw in result.items()
        if k not in ("fingerprint", "parts") and (v := _number(raw)) is not None
    }


@dataclass(frozen=True)
class UnitRecord:
    """One fold x seed unit as it lies on disk."""

    fold: int
    seed: int
    path: Path
    history: list[dict[str, float]]
    result: dict[str, float]  # empty while the unit is not finished
    finished: bool

    @property
    def train_seconds(self) -> float | None:
        """Every epoch's seconds (a resumed unit's earlier processes included), else the
        result's own figure."""
        seconds = [r["seconds"] for r in self.history if "seconds" in r]
        return sum(seconds) if seconds else self.result.get("train_seconds")


def read_units(run_dir: Path) -> list[UnitRecord]:
    """Every `fold{k}/seed{s}` folder of a run, in (fold, seed) order."""
    units = []
    for path in Path(run_dir).glob("fold*/seed*"):
        try:
            fold = int(path.parent.name.removeprefix("fold"))
            seed = int(path.name.removeprefix("seed"))
        except ValueError:
            continue
        result = read_json_or_none(path / RESULT)
        units.append(
            UnitRecord(
                fold,
                seed,
                path,
                read_history(path / HISTORY),
                result_numbers(result) if result else {},
                result is not None,
            )
        )
    return sorted(units, key=lambda u: (u.fold, u.seed))


# ---- tune studies ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TuneStudy:
    """A study's summary.json and its trials.csv (rows as text, as written)."""

    name: str
    path: Path
    direction: str
    trials: dict[str, int]
    best_trial: int | None
    best_value: float | None
    best_params: dict[str, Any]
    holdout: dict[str, Any] | None
    rows: list[dict[str, str]]

    def best_rows(self, n: int = 5) -> list[dict[str, str]]:
        """The `n` best completed trials in the study's direction."""
        done = [r for r in self.rows if r.get("state") == "complete" and r.get("value")]
        done.sort(key=lambda r: float(r["value"]), reverse=self.direction == "maximize")
        return done[:n]


def read_study(path: Path) -> TuneStudy | None:
    summary = read_json_or_none(path / "summary.json")
    try:
        with open(path / "trials.csv", newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError:
        rows = []
    if summary is None and not rows:
        return None
    summary = summary or {}
    return TuneStudy(
        name=str(summary.get("study", path.name)),
        path=path,
        direction=str(summary.get("direction", "maximize")),
        trials={str(k): int(v) for k, v in (summary.get("trials") or {}).items()},
        best_trial=summary.get("best_trial"),
        best_value=_number(summary.get("best_value")),
        best_params=dict(summary.get("best_params") or {}),
        holdout=summary.get("holdout"),
        rows=rows,
    )
