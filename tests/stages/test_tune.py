"""`podium tune` on the tiny demo (issue: Optuna studies with pruning, one or many workers):
a hopeless trial is pruned, a re-run adds to the same study, two worker processes share one
storage, and the best-parameters overlay round-trips into `podium train`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import optuna
import pandas as pd
import pytest
import yaml
from optuna.trial import TrialState

from podium.artifacts import read_json
from podium.cli import main
from podium.config import ConfigError, load_config
from podium.stages import folds as folds_stage
from podium.stages import tune
from podium.tuning import objective
from podium.tuning.storage import build_storage

LR = {"type": "float", "low": 1e-4, "high": 100.0, "log": True}


def tune_config(tiny_config, section: dict, *overrides: str):
    """The tune config, with the folds its trials train on (in the CLI the pipeline makes
    them before the study starts; the stage itself runs no other stage)."""
    cfg = tiny_config(*overrides)
    cfg.tune = {"study": "s", **section}
    folds_stage.run(cfg)
    return cfg


def load(cfg) -> optuna.Study:
    url = cfg.tune.storage or f"sqlite:///{cfg.comp_dir / 'optuna.db'}"
    return optuna.load_study(study_name="s", storage=build_storage(url, None))


def test_a_hopeless_trial_is_pruned_after_its_first_epoch(tiny_config):
    cfg = tune_config(
        tiny_config,
        {
            "space": {"train.lr": LR},
            "n_trials": 3,
            # two sane learning rates, then an absurd one
            "enqueue": [{"train.lr": 0.003}, {"train.lr": 0.005}, {"train.lr": 50.0}],
            "pruner": {"name": "median", "n_startup_trials": 2, "n_warmup_steps": 0},
        },
        "train.epochs=2",
    )
    study = tune.run(cfg)
    states = [t.state for t in study.trials]
    assert states == [TrialState.COMPLETE, TrialState.COMPLETE, TrialState.PRUNED]
    hopeless = study.trials[2]
    assert list(hopeless.intermediate_values) == [0]  # reported one epoch, then stopped
    run_dir = cfg.comp_dir / hopeless.user_attrs["run_name"]
    assert len(pd.read_csv(run_dir / "fold0/seed0/history.csv")) == 1
    assert not list(run_dir.rglob("*.pt"))  # checkpoints of finished trials are not kept
    out = cfg.comp_dir / "tune" / "s"
    table = pd.read_csv(out / "trials.csv")
    assert list(table["state"]) == ["complete", "complete", "pruned"]
    assert read_json(out / "summary.json")["trials"] == {"complete": 2, "pruned": 1}
    best_lr = yaml.safe_load((out / "best.yaml").read_text())["train"]["lr"]
    assert best_lr == study.best_params["train.lr"] in (0.003, 0.005)


def test_running_again_adds_trials_to_the_same_study(tiny_config):
    section = {
        "space": {"train.lr": {**LR, "high": 0.01}},
        "n_trials": 1,
        "pruner": {"name": "none"},
    }
    cfg = tune_config(tiny_config, section)
    tune.run(cfg)
    tune.run(cfg)
    study = load(cfg)
    assert [t.number for t in study.trials] == [0, 1]
    assert all(t.state == TrialState.COMPLETE for t in study.trials)
    assert study.trials[0].params != study.trials[1].params  # the resumed run drew afresh
    runs = {t.user_attrs["run_name"] for t in study.trials}
    assert runs == {"tune/s/trial0000", "tune/s/trial0001"}
    assert all((cfg.comp_dir / r / "fold0/seed0/result.json").exists() for r in runs)
    # tune.max_trials caps the whole study, whichever run (or worker) gets there
    tune.run(tune_config(tiny_config, {**section, "max_trials": 2}))
    assert len(load(cfg).trials) == 2
    # a changed base config would make the trials incomparable: refused, naming the study
    with pytest.raises(ConfigError, match="study 's'.*another base config"):
        tune.run(tune_config(tiny_config, section, "train.epochs=2"))


@pytest.mark.parametrize("storage", ["journal", "sqlite"])
def test_two_workers_share_one_study_without_losing_or_duplicating_trials(
    tiny_config, tmp_path, storage
):
    cfg = tiny_config()
    url = (
        str(tmp_path / "optuna.journal")
        if storage == "journal"
        else f"sqlite:///{tmp_path / 'optuna.db'}"
    )
    section = {
        "study": "s",
        "storage": url,
        "n_trials": 3,
        "space": {"train.lr": {**LR, "high": 0.01}, "train.batch_size": [32, 64]},
        "pruner": {"name": "none"},
    }
    path = tmp_path / "tune.yaml"
    path.write_text(yaml.safe_dump({**cfg.resolved(), "tune": section}))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "podium", "tune", "-c", str(path), f"tune.sampler.seed={seed}"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for seed in (1, 2)
    ]
    logs = [w.communicate(timeout=300)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], logs
    study = optuna.load_study(study_name="s", storage=build_storage(url, None))
    assert sorted(t.number for t in study.trials) == list(range(6))
    assert all(t.state == TrialState.COMPLETE for t in study.trials)
    runs = [t.user_attrs["run_name"] for t in study.trials]
    assert len(set(runs)) == 6
    assert all((cfg.comp_dir / r / "fold0/seed0/result.json").exists() for r in runs)
    assert len({tuple(t.params.items()) for t in study.trials}) == 6


def test_the_best_overlay_round_trips_into_podium_train(tiny_config, tmp_path):
    section = {
        "space": {
            "train.lr": {**LR, "high": 0.01},
            "mix": ["none", "cutmix"],
            "train.cutmix_alpha": {
                "type": "float",
                "low": 0.5,
                "high": 1.0,
                "when": {"mix": "cutmix"},
            },
        },
        "n_trials": 1,
        "enqueue": [{"train.lr": 0.004, "mix": "cutmix", "train.cutmix_alpha": 0.75}],
        "pruner": {"name": "none"},
    }
    cfg = tune_config(tiny_config, section)
    tune.run(cfg)
    overlay = cfg.comp_dir / "tune" / "s" / "best.yaml"
    base = tmp_path / "base.yaml"
    base.write_text(yaml.safe_dump({k: v for k, v in cfg.resolved().items() if k != "tune"}))
    exp_file = tmp_path / "tuned.yaml"
    exp_file.write_text(yaml.safe_dump({"extends": ["base.yaml", str(overlay)], "name": "tuned"}))
    tuned = load_config(exp_file)
    assert (tuned.train.lr, tuned.train.cutmix_alpha) == (0.004, 0.75)
    assert main(["train", "-c", str(exp_file), "--fold", "0"]) == 0
    trained = yaml.safe_load((tuned.run_dir / "config.yaml").read_text())
    assert (trained["train"]["lr"], trained["train"]["cutmix_alpha"]) == (0.004, 0.75)
    assert (tuned.run_dir / "fold0/seed0/best.pt").exists()


def test_meta_mode_tunes_the_meta_model_against_its_cv(tiny_config, monkeypatch):
    seen = []

    def meta_cv_score(cfg, params):  # a stand-in CV with its peak at max_depth 3
        seen.append(params)
        return 0.9 - 0.01 * (params["max_depth"] - 3) ** 2

    monkeypatch.setattr(objective, "meta_cv_score", meta_cv_score)
    section = {
        "mode": "meta",
        "space": {
            "max_depth": {"type": "int", "low": 1, "high": 6},
            "learning_rate": {"type": "float", "low": 0.01, "high": 0.3, "log": True},
        },
        "n_trials": 12,
        "sampler": {"name": "tpe", "n_startup_trials": 4},
        "holdout": False,  # the stand-in CV scores every row (tests/tuning/test_meta_holdout.py)
    }
    cfg = tune_config(tiny_config, section)
    cfg.ensemble = {"members": ["a.yaml", "b.yaml"]}  # members are not read: the CV is a stand-in
    study = tune.run(cfg)
    assert len(seen) == 12 and all(set(p) == {"max_depth", "learning_rate"} for p in seen)
    assert study.best_params["max_depth"] == 3
    overlay = yaml.safe_load((cfg.comp_dir / "tune" / "s" / "best.yaml").read_text())
    assert overlay["ensemble"]["meta"]["params"]["max_depth"] == 3
    assert not (cfg.comp_dir / "tune" / "s" / "trial0000").exists()  # nothing was trained
    # arguments the ensemble sets itself are refused before a study is made
    cfg.tune = {**section, "study": "r", "space": {"random_state": [0, 1]}}
    with pytest.raises(ConfigError, match="random_state"):
        tune.run(cfg)


def test_the_cli_reports_a_bad_space_in_one_line(tmp_path, tiny_config, capsys):
    cfg = tiny_config()
    path = tmp_path / "tune.yaml"
    bad = {"space": {"train.lrr": LR}}
    path.write_text(yaml.safe_dump({**cfg.resolved(), "tune": bad}))
    assert main(["tune", "-c", str(path)]) == 2
    err = capsys.readouterr().err
    assert "tune.space['train.lrr']" in err and "did you mean 'train.lr'" in err
    assert not Path(cfg.comp_dir / "optuna.db").exists()  # refused before any study was made
