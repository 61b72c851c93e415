"""The `track:` section: which experiment trackers follow a run (podium.tracking logs to them).

    track:
      wandb: {project: digits}                             # W&B (offline: WANDB_MODE=offline)
      mlflow: {tracking_uri: sqlite:///runs/mlflow.db}     # a file store, SQLite, or a server
      tensorboard: true                                    # event files under each unit

All off by default; each is an optional extra (`pip install podium[track]`). A tracker whose
library is not installed is refused here, when the config is loaded, so the error comes
before anything trains rather than as a warning after the first epoch.
"""

from __future__ import annotations

import importlib.util
from typing import Literal

from pydantic import model_validator

from podium.config.section import Section

# the import name each tracker needs; the pip name is the same
LIBRARIES = {"wandb": "wandb", "mlflow": "mlflow", "tensorboard": "tensorboard"}


class WandbTrack(Section):
    """W&B: one run per unit (named `<exp>-fold{k}-seed{s}`, grouped by experiment) and one
    for the CV result (`<exp>-cv`)."""

    project: str | None = None  # default: the competition's name
    entity: str | None = None  # a W&B team or user; default: the logged-in user's
    # None: W&B decides (WANDB_MODE, else online, which needs `wandb login`)
    mode: Literal["online", "offline"] | None = None
    dir: str | None = None  # where W&B writes its files; default: runs/<comp>/


class MlflowTrack(Section):
    """MLflow: one run per unit (`<exp>/fold{k}/seed{s}`) and one for the CV (`<exp>/cv`),
    in the experiment named after the competition."""

    # a path or file:// URI (a file store), sqlite:///..., or http(s)://server;
    # default: sqlite:///<paths.runs>/mlflow.db
    tracking_uri: str | None = None
    experiment: str | None = None  # default: the competition's name


class TrackConfig(Section):
    wandb: WandbTrack | None = None
    mlflow: MlflowTrack | None = None
    tensorboard: bool = False

    @model_validator(mode="after")
    def _installed(self) -> TrackConfig:
        missing = [
            name for name in self.enabled() if importlib.util.find_spec(LIBRARIES[name]) is None
        ]
        if missing:
            raise ValueError(
                f"{', '.join(f'track.{n}' for n in missing)} needs "
                f"{' and '.join(LIBRARIES[n] for n in missing)}, which is not installed: "
                "pip install 'podium[track]' (or remove the key)"
            )
        return self

    def enabled(self) -> list[str]:
        """The trackers asked for, by name."""
        names: list[str] = []
        if self.wandb is not None:
            names.append("wandb")
        if self.mlflow is not None:
            names.append("mlflow")
        if self.tensorboard:
            names.append("tensorboard")
        return names
