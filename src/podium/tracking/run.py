"""What every tracker's run is: whose run it is (`RunLabel`), what a run can do (`TrackerRun`)
and how a tracker opens one (`Opener`): the shape the tracker modules (wandb_run, mlflow_run,
tensorboard_run) implement and podium.tracking.session drives."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from podium.config import Config


@dataclass(frozen=True)
class RunLabel:
    """Whose run it is: the competition, the experiment and the unit (None: the CV run)."""

    competition: str
    experiment: str
    fold: int | None = None
    seed: int | None = None

    @property
    def unit(self) -> str:
        return "cv" if self.fold is None else f"fold{self.fold}/seed{self.seed}"


class TrackerRun(Protocol):
    """One run in one tracker."""

    def log_metrics(self, metrics: dict[str, float], step: int) -> None: ...

    def log_summary(self, values: dict[str, float]) -> None: ...

    def finish(self, ok: bool) -> None: ...


# (cfg, label, folder for local files, resolved config, first step this process logs) -> run
Opener = Callable[[Config, RunLabel, Path, dict[str, Any], int], TrackerRun]
