"""The trackers' runs for one unit or one CV result, kept away from the training's fate.

`unit_tracking(cfg, fold, seed, unit_dir)` is opened by `podium.units.train` around one
unit's `fit`: it logs the resolved config, each epoch's history row through the engine's
one hook (`on_epoch_end`, chained before the caller's own, so tune's pruning still works),
and the unit's result. `track_cv(cfg, scores)` is called by the stages that write a CV
(oof, tabular, ensemble) with the scores.json they wrote.

Three rules hold here, for every tracker:
- **a tracker never fails a run**: any exception from a tracker (an unreachable server, a
  full disk, a library bug) is a warning naming the tracker, which is then dropped for the
  rest of that run; training and its artifacts go on as without it;
- **only rank 0 logs** under torchrun (every rank calls the hook; the others hold no runs);
- **a resumed unit's run is whole**: the epochs already in history.csv are logged first
  (TensorBoard's run instead purges what the killed process logged past the resume point).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from podium.config import Config
from podium.engine import distributed
from podium.records import HISTORY, read_history, result_numbers, scores_from_json
from podium.tracking.run import Opener, RunLabel, TrackerRun

_log = logging.getLogger(__name__)

EpochHook = Callable[[int, dict[str, float]], None]


def _openers() -> dict[str, Opener]:
    """Each tracker's opener, imported only when asked for (the libraries are optional)."""
    from podium.tracking.mlflow_run import open_mlflow
    from podium.tracking.tensorboard_run import open_tensorboard
    from podium.tracking.wandb_run import open_wandb

    return {"wandb": open_wandb, "mlflow": open_mlflow, "tensorboard": open_tensorboard}


class Tracking:
    """The runs of one unit (or CV result) in every configured tracker."""

    def __init__(self, runs: dict[str, TrackerRun] | None = None) -> None:
        self.runs = dict(runs or {})

    @classmethod
    def open(cls, cfg: Config, label: RunLabel, folder: Path, first_step: int = 1) -> Tracking:
        """The configured trackers' runs; none without `track:`, on a rank other than 0, or
        for a tracker that fails to open (a warning says so)."""
        if cfg.track is None or not distributed.current().is_main:
            return cls()
        names = cfg.track.enabled()
        if not names:
            return cls()
        openers, config, runs = _openers(), cfg.resolved(), {}
        for name in names:
            try:
                runs[name] = openers[name](cfg, label, folder, config, first_step)
            except Exception as e:  # noqa: BLE001 - a tracker never fails a run
                _warn(name, f"opening the run of {label.experiment} {label.unit}", e)
        return cls(runs)

    def _each(self, what: str, call: Callable[[TrackerRun], None]) -> None:
        for name, run in list(self.runs.items()):
            try:
                call(run)
            except Exception as e:  # noqa: BLE001 - a tracker never fails a run
                _warn(name, what, e)
                del self.runs[name]

    def log_epoch(self, row: dict[str, float]) -> None:
        """One history.csv row (plus the loop's throughput), at step = its 1-based epoch."""
        metrics = {k: float(v) for k, v in row.items() if k != "epoch"}
        seconds, images = metrics.pop("train_loop_seconds", None), metrics.pop("train_images", None)
        if seconds and images:
            metrics["train_images_per_second"] = images / seconds
        self._each("logging an epoch", lambda r: r.log_metrics(metrics, int(row["epoch"])))

    def epoch_hook(self, inner: EpochHook | None) -> EpochHook | None:
        """The engine's `on_epoch_end`: log the epoch, then call the caller's own hook."""
        if not self.runs:
            return inner

        def on_epoch_end(epoch: int, metrics: dict[str, float]) -> None:
            self.log_epoch({"epoch": epoch + 1, **metrics})
            if inner is not None:
                inner(epoch, metrics)

        return on_epoch_end

    def summary(self, values: dict[str, float]) -> None:
        self._each("logging the summary", lambda r: r.log_summary(values))

    def finish(self, ok: bool) -> None:
        self._each("closing the run", lambda r: r.finish(ok))
        self.runs.clear()


def _warn(name: str, what: str, e: Exception) -> None:
    _log.warning(
        "track.%s: %s failed (%s: %s); the run goes on without this tracker",
        name,
        what,
        type(e).__name__,
        str(e).splitlines()[0] if str(e) else "",
    )


@contextmanager
def unit_tracking(cfg: Config, fold: int, seed: int, unit_dir: Path) -> Iterator[Tracking]:
    """The trackers' runs of unit (fold, seed) while it trains: the epochs a resumed unit
    already has (history.csv) are logged first; the runs end as finished, or as failed when
    training raises (a kill, a pruned trial), and the exception goes on."""
    resumed = cfg.track is not None and (unit_dir / "last.pt").exists()
    done = read_history(unit_dir / HISTORY) if resumed else []
    label = RunLabel(cfg.competition.name, cfg.name, fold, seed)
    tracking = Tracking.open(cfg, label, unit_dir, first_step=len(done) + 1)
    for row in done:
        tracking._each("replaying an epoch", _replay(row, tracking))
    try:
        yield tracking
    except BaseException:
        tracking.finish(ok=False)
        raise
    tracking.finish(ok=True)


def _replay(row: dict[str, float], tracking: Tracking) -> Callable[[TrackerRun], None]:
    metrics = {k: v for k, v in row.items() if k != "epoch"}

    def call(run: TrackerRun) -> None:
        if getattr(run, "replays", True):  # TensorBoard keeps the earlier process's events
            run.log_metrics(metrics, int(row["epoch"]))

    return call


def track_unit_result(tracking: Tracking, result: dict[str, Any]) -> None:
    """A finished unit's result.json numbers (best and final scores, epochs, seconds)."""
    tracking.summary(result_numbers(result))


def track_cv(cfg: Config, scores: dict[str, Any]) -> None:
    """The CV result a stage just wrote (its scores.json), as one run per tracker."""
    if cfg.track is None or not cfg.track.enabled():
        return
    label = RunLabel(cfg.competition.name, cfg.name)
    tracking = Tracking.open(cfg, label, cfg.run_dir)
    values = scores_from_json(scores).metrics()
    tracking._each("logging the CV", lambda r: r.log_metrics(values, 0))
    tracking.summary(values)
    tracking.finish(ok=True)
