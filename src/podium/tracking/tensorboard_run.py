"""TensorBoard: event files under the unit's folder (`fold{k}/seed{s}/tensorboard/`; the CV
under the run's `tensorboard/`), one scalar per history.csv column at step = epoch, the
resolved config as text, and the unit's result and the CV as `summary/...` scalars.
`tensorboard --logdir runs/<comp>` shows every run of a competition.

A resumed unit opens the same folder with `purge_step` at its first new epoch, so events the
killed process logged past the resume point are discarded and the curve stays one line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from podium.config import Config
from podium.tracking.run import RunLabel

FOLDER = "tensorboard"


class TensorboardRun:
    replays = False  # a resumed unit's earlier epochs are in its folder already

    def __init__(self, writer: Any, step: int) -> None:
        self.writer = writer
        self.last_step = step

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        for key, value in metrics.items():
            self.writer.add_scalar(key, value, step)
        self.last_step = step
        self.writer.flush()

    def log_summary(self, values: dict[str, float]) -> None:
        for key, value in values.items():
            self.writer.add_scalar(f"summary/{key}", value, self.last_step)
        self.writer.flush()

    def finish(self, ok: bool) -> None:
        self.writer.close()


def open_tensorboard(
    cfg: Config, label: RunLabel, folder: Path, config: dict[str, Any], first_step: int
) -> TensorboardRun:
    from torch.utils.tensorboard import SummaryWriter

    resumed = first_step > 1
    writer = SummaryWriter(log_dir=str(folder / FOLDER), purge_step=first_step if resumed else None)
    if not resumed:
        text = yaml.safe_dump(config, sort_keys=False)
        writer.add_text("config", f"```\n{text}\n```", 0)
    return TensorboardRun(writer, first_step - 1)
