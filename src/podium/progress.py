"""What a user reads about how far a command has got: a line when each stage ends, with its
time and the command's elapsed time; a line when each training unit ends, with an estimate of
the time the whole command has left; and tqdm's per-batch bars only where they redraw in place
(a terminal, a notebook). In a CI log, a file or a pipe every redraw of a bar would be a new
line, so there the lines alone tell the progress (the trainer's one line per epoch among them).

The estimate prices what is still to do at what was measured in this command:
- the epochs still to train (every unit not finished, times its epochs; early stopping makes
  this an over-estimate) at their experiment's mean epoch time, or, before an experiment's
  first epoch, at the mean epoch time of all experiments so far (architectures differ: it
  settles once each experiment has trained an epoch);
- the oof and infer stages still to run, for the experiments this command trains, at the mean
  time of those already run. The ensemble's own stacking and what nothing measured yet (the
  first predictions, before any have run) are not in it: the line says `training` or
  `training and predictions`, whichever it priced.

Hooks, each a line where it is called: `start` by the CLI before a command runs; `expect` where
the pipeline learns the experiments of a command (an ensemble's members); `stage` around each
stage the pipeline runs; `unit` around a unit's training (it wraps the trainer's epoch hook).
One tracker per process: `podium train --devices` trains its units in processes of their own,
each logging to its unit's log file.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from statistics import fmean
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from podium.config import Config

EpochHook = Callable[[int, dict[str, float]], None]  # the trainer's (podium.engine.trainer)

_log = logging.getLogger(__name__)

# the stages that make predictions of each experiment a command trains, priced in the estimate
PREDICTIONS = ("oof", "infer")
# commands that stop at training: their estimate has no predictions in it
TRAINING_ONLY = {"train", "lr-find", "tune"}


def bars() -> bool:
    """Whether per-batch bars are shown: on a terminal (tqdm writes to stderr) or in a
    notebook (tqdm.auto's widget); elsewhere each redraw would be a line of its own."""
    return sys.stderr.isatty() or "ipykernel" in sys.modules


@dataclass
class Planned:
    """One experiment the command trains: what is left of it, and its measured epochs."""

    name: str
    epochs_left: int
    units_left: int
    predictions_left: set[str]
    epoch_seconds: list[float] = field(default_factory=list)


@dataclass
class Tracker:
    """The progress of one command: when it started, what it expects to do, what it measured."""

    command: str = ""
    fold: int | None = None  # `podium train --fold K --seed S`: that unit alone
    seed: int | None = None
    started: float = field(default_factory=time.monotonic)
    planned: dict[Path, Planned] = field(default_factory=dict)
    stage_seconds: dict[str, list[float]] = field(default_factory=dict)
    units_done: int = 0

    # ---- what the command will do -------------------------------------------------------
    def expect(self, configs: list[Config]) -> None:
        """Count the units still to train of every experiment in `configs` (once each)."""
        for cfg in configs:
            if cfg.run_dir in self.planned or not cfg.kind.trains_units:
                continue  # a tabular member fits in seconds; an ensemble is its members
            units = [
                (f, s)
                for f in cfg.fold_ids()
                for s in cfg.train.seeds
                if (self.fold is None or f == self.fold) and (self.seed is None or s == self.seed)
            ]
            epochs = [_epochs_left(cfg, f, s) for f, s in units]
            left = [e for e in epochs if e > 0]
            predictions = set(PREDICTIONS) if left and self.command not in TRAINING_ONLY else set()
            self.planned[cfg.run_dir] = Planned(cfg.name, sum(left), len(left), predictions)

    # ---- hooks ------------------------------------------------------------------------------
    @contextmanager
    def stage(self, name: str, cfg: Config) -> Iterator[None]:
        """Around one stage of one config: its line when it ends (not when it fails)."""
        if name == "train":
            self.expect([cfg])  # a plain experiment: known when its training starts
        t0 = time.monotonic()
        yield
        seconds = time.monotonic() - t0
        plan = self.planned.get(cfg.run_dir)
        if plan is not None and name in plan.predictions_left:
            plan.predictions_left.discard(name)
            self.stage_seconds.setdefault(name, []).append(seconds)
        if plan is not None and name == "train":  # what it left untrained is not coming
            plan.epochs_left, plan.units_left = 0, 0
        _log.info(
            "%s %s %s: done in %s%s", self._clock(), name, cfg.name, _clock(seconds), self._left()
        )

    @contextmanager
    def unit(
        self, cfg: Config, fold: int, seed: int, on_epoch_end: EpochHook | None
    ) -> Iterator[EpochHook]:
        """Around one unit's training; yields the epoch hook to give the trainer (it times
        each epoch, then calls `on_epoch_end`). Its line when the unit ends."""
        plan = self.planned.get(cfg.run_dir)
        planned = _epochs_left(cfg, fold, seed)
        seen = 0

        def timed(epoch: int, metrics: dict[str, float]) -> None:
            nonlocal seen
            seen += 1
            if plan is not None:
                plan.epoch_seconds.append(metrics["seconds"])
                plan.epochs_left = max(0, plan.epochs_left - 1)
            if on_epoch_end is not None:
                on_epoch_end(epoch, metrics)

        yield timed
        self.units_done += 1
        if plan is None:
            return
        plan.epochs_left = max(0, plan.epochs_left - (planned - seen))  # stopped early
        plan.units_left = max(0, plan.units_left - 1)
        total = self.units_done + sum(p.units_left for p in self.planned.values())
        _log.info(
            "%s trained %d/%d units (%s fold %d seed %d)%s",
            self._clock(),
            self.units_done,
            total,
            cfg.name,
            fold,
            seed,
            self._left(),
        )

    def finish(self) -> None:
        """The command's last line: its whole time."""
        _log.info("%s podium %s: finished in %s", self._clock(), self.command, self._elapsed())

    # ---- the estimate -----------------------------------------------------------------------
    def seconds_left(self) -> tuple[float, str] | None:
        """(seconds, what they cover) still to go, or None before the first epoch is measured
        or when nothing is left."""
        measured = [s for p in self.planned.values() for s in p.epoch_seconds]
        if not measured:
            return None
        everyone = fmean(measured)
        training = sum(
            p.epochs_left * (fmean(p.epoch_seconds) if p.epoch_seconds else everyone)
            for p in self.planned.values()
        )
        predicting = sum(
            fmean(self.stage_seconds[stage])
            for p in self.planned.values()
            for stage in p.predictions_left
            if self.stage_seconds.get(stage)
        )
        if training + predicting <= 0:
            return None
        return training + predicting, "training and predictions" if predicting else "training"

    def _left(self) -> str:
        left = self.seconds_left()
        if left is None:
            return ""
        seconds, what = left
        return f"; {_duration(seconds)} of {what} left"

    def _elapsed(self) -> str:
        return _clock(time.monotonic() - self.started)

    def _clock(self) -> str:
        return f"[{self._elapsed()}]"


def _epochs_left(cfg: Config, fold: int, seed: int) -> int:
    """A unit's epochs still to train: none when finished, fewer when it will resume (its
    history.csv holds a line per finished epoch)."""
    unit = cfg.run_dir / f"fold{fold}" / f"seed{seed}"
    if (unit / "result.json").exists():
        return 0
    history = unit / "history.csv"
    done = 0
    if (unit / "last.pt").exists() and history.exists():
        done = max(0, len(history.read_text().splitlines()) - 1)
    return max(0, cfg.train.epochs - done)


def _clock(seconds: float) -> str:
    """12:05, or 1:02:03 past an hour."""
    s = round(seconds)
    h, m = divmod(s // 60, 60)
    return f"{h}:{m:02d}:{s % 60:02d}" if h else f"{m}:{s % 60:02d}"


def _duration(seconds: float) -> str:
    """A rounded figure for an estimate: 'under a minute', 'about 12 min', 'about 1 h 20 min'."""
    minutes = round(seconds / 60)
    if minutes < 1:
        return "under a minute"
    h, m = divmod(minutes, 60)
    return f"about {h} h {m} min" if h else f"about {m} min"


_current = Tracker()


def start(command: str, fold: int | None = None, seed: int | None = None) -> Tracker:
    """A new tracker for the command about to run (the CLI calls it, once per command)."""
    global _current
    _current = Tracker(command=command, fold=fold, seed=seed)
    return _current


def current() -> Tracker:
    """The running command's tracker (a fresh one where no command was started: a library
    call, a test)."""
    return _current
