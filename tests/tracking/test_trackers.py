"""The trackers of `track:`, read back with each library's own reader: MLflow's client
(`get_metric_history`), TensorBoard's event accumulator and W&B's offline run file (through
`wandb leet inspect`, W&B's reader of its transaction log) hold the same per-epoch numbers as
history.csv and the CV of scores.json. A tracker that fails is a warning, never a failed run;
only rank 0 logs; a missing library is a one-line error before training."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from podium import cli
from podium.artifacts import read_json
from podium.engine import distributed
from podium.engine.trainer import Interrupted
from podium.experiment import Experiment
from podium.stages import folds as folds_stage
from podium.stages import oof as oof_stage
from podium.stages import train as train_stage
from podium.tracking import RunLabel, Tracking
from podium.tracking.tensorboard_run import TensorboardRun

# the metrics a unit's run holds at step = epoch, as history.csv's columns
EPOCH_COLUMNS = ["train_loss", "valid_loss", "valid_accuracy", "lr"]


def experiment(tiny_config, data_root: Path, *extra: str) -> Experiment:
    cfg = tiny_config(
        f"paths.data={data_root}",
        "competition.solution=null",
        "train.epochs=2",
        *extra,
    )
    folds_stage.run(cfg)
    return Experiment(cfg)


def mlflow_client(uri: str):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri)


def mlflow_runs(uri: str, name: str) -> dict[str, object]:
    """run name -> the newest run of that name in the competition's MLflow experiment."""
    client = mlflow_client(uri)
    exp = client.get_experiment_by_name(name)
    runs = client.search_runs([exp.experiment_id], order_by=["attributes.start_time ASC"])
    return {r.info.run_name: r for r in runs}


def tensorboard_scalars(folder: Path) -> dict[str, list[tuple[int, float]]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(folder))
    acc.Reload()
    return {tag: [(s.step, s.value) for s in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def wandb_history(run_file: Path) -> tuple[dict, list[dict]]:
    """(the run record, the history records) of an offline run, by W&B's own reader."""
    wandb_cli = Path(sys.executable).with_name("wandb")
    out = subprocess.run(
        [str(wandb_cli), "leet", "inspect", "--json", str(run_file)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    records = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    run = next(r["run"] for r in records if r["type"] == "run")
    return run, [r["history"] for r in records if r["type"] == "history"]


def test_every_tracker_holds_the_epochs_of_history_csv_and_the_cv(
    tiny_config, small_demo, tmp_path, monkeypatch
):
    monkeypatch.setenv("WANDB_MODE", "offline")  # no network, no login
    monkeypatch.setenv("WANDB_SILENT", "true")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    exp = experiment(
        tiny_config,
        small_demo,
        f"track.mlflow.tracking_uri={uri}",
        "track.tensorboard=true",
        f"track.wandb.dir={tmp_path / 'wb'}",
    )
    train_stage.run(exp)
    oof_stage.run(exp)
    comp, name = exp.cfg.competition.name, exp.cfg.name
    runs = mlflow_runs(uri, comp)
    client = mlflow_client(uri)
    wandb_files = sorted((tmp_path / "wb" / "wandb").glob("offline-run-*/run-*.wandb"))
    wandb_runs = {}
    for f in wandb_files:
        run, history = wandb_history(f)
        wandb_runs[run["display_name"]] = (run, history)

    for fold, seed in exp.units():
        unit = exp.unit_dir(fold, seed)
        history = pd.read_csv(unit / "history.csv")
        assert len(history) == 2
        # MLflow: one run per unit, FINISHED, every column at step = epoch
        run = runs[f"{name}/fold{fold}/seed{seed}"]
        assert run.info.status == "FINISHED"
        assert run.data.params["train.epochs"] == "2"
        for column in EPOCH_COLUMNS:
            logged = sorted(
                client.get_metric_history(run.info.run_id, column), key=lambda m: m.step
            )
            assert [m.step for m in logged] == history["epoch"].tolist(), column
            # to the last bit or so: history.csv's text round trip differs with pandas' version
            assert [m.value for m in logged] == pytest.approx(history[column].tolist(), rel=1e-12)
        result = read_json(unit / "result.json")
        assert run.data.metrics["summary.best_score"] == pytest.approx(result["best_score"])
        # TensorBoard: event files under the unit (float32 scalars)
        scalars = tensorboard_scalars(unit / "tensorboard")
        for column in EPOCH_COLUMNS:
            steps, values = zip(*scalars[column], strict=True)
            assert list(steps) == history["epoch"].tolist()
            assert values == pytest.approx(history[column].tolist(), rel=1e-6)
        # W&B: the offline run file holds the same rows, at step = epoch
        wb_run, wb_history = wandb_runs[f"{name}-fold{fold}-seed{seed}"]
        assert wb_run["run_group"] == name and wb_run["project"] == comp
        assert [h["step"]["num"] for h in wb_history] == history["epoch"].tolist()
        for column in EPOCH_COLUMNS:
            logged = [h["item"][column] for h in wb_history]
            assert logged == pytest.approx(history[column].tolist(), rel=1e-12)

    scores = read_json(exp.run_dir / "scores.json")
    cv_run = runs[f"{name}/cv"]
    assert cv_run.data.metrics["cv_accuracy"] == pytest.approx(scores["cv"])
    assert cv_run.data.metrics["fold1_accuracy"] == pytest.approx(
        scores["final"]["folds"]["1"]["accuracy"]
    )
    assert tensorboard_scalars(exp.run_dir / "tensorboard")["cv_accuracy"][0][1] == pytest.approx(
        scores["cv"]
    )
    assert f"{name}-cv" in wandb_runs


def test_a_resumed_unit_keeps_one_whole_curve(tiny_config, small_demo, tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    track = [f"track.mlflow.tracking_uri={uri}", "track.tensorboard=true", "train.folds=[0]"]
    with pytest.raises(Interrupted):
        train_stage.run(experiment(tiny_config, small_demo, *track, "train.stop_after_epoch=1"))
    exp = experiment(tiny_config, small_demo, *track)
    train_stage.run(exp)  # resumes at epoch 2
    unit = exp.unit_dir(0, 0)
    history = pd.read_csv(unit / "history.csv")
    steps, values = zip(*tensorboard_scalars(unit / "tensorboard")["valid_loss"], strict=True)
    assert list(steps) == [1, 2] and values == pytest.approx(history["valid_loss"].tolist())
    client = mlflow_client(uri)
    exp_id = client.get_experiment_by_name(exp.cfg.competition.name).experiment_id
    runs = client.search_runs([exp_id], order_by=["attributes.start_time ASC"])
    assert [r.info.status for r in runs] == ["FAILED", "FINISHED"]  # the killed one, the resumed
    logged = client.get_metric_history(runs[-1].info.run_id, "valid_loss")
    # pandas' default CSV float parser may read a value one bit off the logged float
    assert [m.value for m in sorted(logged, key=lambda m: m.step)] == pytest.approx(
        history["valid_loss"].tolist(), rel=1e-12
    )


def write_config(tmp_path: Path, data_root: Path, track: dict) -> Path:
    path = tmp_path / "tracked.yaml"
    root = Path(__file__).resolve().parents[2]
    path.write_text(
        yaml.safe_dump(
            {
                "extends": str(root / "configs/digits/base.yaml"),
                "name": "tracked",
                "competition": {"solution": None},
                "model": {"name": "test_convnext"},
                "folds": {"n_splits": 2},
                "data": {"num_workers": 0},
                "train": {"epochs": 1, "progress": False, "folds": [0]},
                "paths": {
                    "data": str(data_root),
                    "runs": str(tmp_path / "runs"),
                    "submissions": str(tmp_path / "subs"),
                },
                "track": track,
            }
        )
    )
    return path


def test_a_failing_tracker_is_a_warning_and_the_run_finishes(
    small_demo, tmp_path, capsys, monkeypatch
):
    def broken(self, metrics, step):
        raise OSError("disk full")

    monkeypatch.setattr(TensorboardRun, "log_metrics", broken)
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the store's folder would be")
    config = write_config(
        tmp_path,
        small_demo,
        {"tensorboard": True, "mlflow": {"tracking_uri": f"sqlite:///{blocked}/mlflow.db"}},
    )
    assert cli.main(["train", "-c", str(config)]) == 0
    err = capsys.readouterr().err
    assert "warning: track.tensorboard: logging an epoch failed (OSError: disk full)" in err
    assert "warning: track.mlflow: opening the run of tracked fold0/seed0 failed" in err
    assert (tmp_path / "runs/digits/tracked/fold0/seed0/result.json").exists()


def test_a_tracker_whose_library_is_missing_is_refused_before_training(
    small_demo, tmp_path, capsys, monkeypatch
):
    import importlib.util

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "wandb" else find_spec(name, *a),
    )
    config = write_config(tmp_path, small_demo, {"wandb": {"project": "p"}})
    assert cli.main(["train", "-c", str(config)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "track.wandb needs wandb, which is not installed: pip install 'podium[track]'" in err
    assert not (tmp_path / "runs").exists()


def test_only_rank_0_logs(tiny_config, tmp_path, monkeypatch):
    cfg = tiny_config("track.tensorboard=true")
    label = RunLabel("digits", cfg.name, 0, 0)
    monkeypatch.setattr(distributed, "current", lambda: distributed.Ranks(1, 2, 1))
    assert Tracking.open(cfg, label, tmp_path / "rank1").runs == {}
    monkeypatch.setattr(distributed, "current", lambda: distributed.Ranks(0, 2, 0))
    tracking = Tracking.open(cfg, label, tmp_path / "rank0")
    assert list(tracking.runs) == ["tensorboard"]
    tracking.finish(ok=True)
    assert os.listdir(tmp_path / "rank0" / "tensorboard")
    assert not (tmp_path / "rank1").exists()
