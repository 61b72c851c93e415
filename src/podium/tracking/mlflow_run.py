"""MLflow: a unit's run is `<exp>/fold{k}/seed{s}` (the CV's `<exp>/cv`) in the MLflow
experiment `track.mlflow.experiment` (default: the competition), tagged with the competition,
experiment, fold and seed; the resolved config as params (dotted keys), each history.csv
column as a metric at step = epoch, and the unit's result and the CV as metrics too.

Through `MlflowClient` (no global active run): `tracking_uri` is a path or file:// URI (a
file store; MLflow 3 keeps it in maintenance mode and asks for MLFLOW_ALLOW_FILE_STORE,
which podium sets for a file URI it was given), `sqlite:///...` (default:
`sqlite:///<paths.runs>/mlflow.db`) or a tracking server's URL. The run ends FINISHED, or
FAILED when training raised."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from podium.config import Config
from podium.tracking.run import RunLabel

MAX_PARAM_LENGTH = 6000  # MLflow's limit on a param's value
BATCH = 100  # MLflow's limit on params per log_batch call


def tracking_uri(cfg: Config) -> str:
    section = cfg.track.mlflow if cfg.track is not None else None
    uri = section.tracking_uri if section is not None else None
    return uri or f"sqlite:///{Path(cfg.paths.runs).resolve() / 'mlflow.db'}"


def is_file_store(uri: str) -> bool:
    return "://" not in uri or uri.startswith("file:")


def flat_params(config: dict[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in config.items():
        if isinstance(value, dict) and value:
            out |= flat_params(value, f"{prefix}{key}.")
        else:
            out[f"{prefix}{key}"] = str(value)[:MAX_PARAM_LENGTH]
    return out


class MlflowRun:
    def __init__(self, client: Any, run_id: str) -> None:
        self.client = client
        self.run_id = run_id

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        self.client.log_batch(
            self.run_id, metrics=[Metric(k, float(v), now, step) for k, v in metrics.items()]
        )

    def log_summary(self, values: dict[str, float]) -> None:
        self.log_metrics({f"summary.{k}": v for k, v in values.items()}, 0)

    def finish(self, ok: bool) -> None:
        self.client.set_terminated(self.run_id, status="FINISHED" if ok else "FAILED")


def open_mlflow(
    cfg: Config, label: RunLabel, folder: Path, config: dict[str, Any], first_step: int
) -> MlflowRun:
    uri = tracking_uri(cfg)
    if is_file_store(uri):
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    from mlflow.entities import Param
    from mlflow.tracking import MlflowClient

    section = cfg.track.mlflow if cfg.track is not None else None
    client = MlflowClient(tracking_uri=uri)
    name = (section.experiment if section else None) or label.competition
    found = client.get_experiment_by_name(name)
    experiment_id = found.experiment_id if found else client.create_experiment(name)
    tags = {
        "podium.competition": label.competition,
        "podium.experiment": label.experiment,
        "podium.unit": label.unit,
        **(
            {"podium.fold": str(label.fold), "podium.seed": str(label.seed)}
            if label.fold is not None
            else {}
        ),
    }
    run = client.create_run(experiment_id, run_name=f"{label.experiment}/{label.unit}", tags=tags)
    params = [Param(k, v) for k, v in flat_params(config).items()]
    for i in range(0, len(params), BATCH):
        client.log_batch(run.info.run_id, params=params[i : i + BATCH])
    return MlflowRun(client, run.info.run_id)
