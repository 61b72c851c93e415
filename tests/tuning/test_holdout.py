"""A study's best trial is the best of many draws on the folds it was tuned on: `podium tune`
also trains the best settings on the other folds and reports that CV beside it."""

from __future__ import annotations

from podium.artifacts import read_json
from podium.stages import folds as folds_stage
from podium.stages import tune


def test_the_best_settings_are_scored_on_the_folds_not_tuned_on(tiny_config):
    cfg = tiny_config("train.folds=[0]")
    cfg.tune = {
        "study": "h",
        "space": {"train.lr": {"type": "float", "low": 1e-3, "high": 1e-2, "log": True}},
        "n_trials": 2,
        "pruner": {"name": "none"},
    }
    folds_stage.run(cfg)
    tune.run(cfg)
    summary = read_json(cfg.comp_dir / "tune" / "h" / "summary.json")
    holdout = summary["holdout"]
    assert holdout["tuned_folds"] == [0] and holdout["holdout_folds"] == [1]
    assert holdout["trial"] == summary["best_trial"]
    holdout_dir = cfg.comp_dir / "tune" / "h" / f"holdout-trial{holdout['trial']:04d}"
    unit = holdout_dir / "fold1" / "seed0" / "result.json"
    assert holdout["holdout_cv"] == read_json(unit)["final_score"]  # demo: checkpoint last
    assert not (holdout_dir / "fold0").exists()

    # the study is complete: no new trial runs
    cfg.tune = {**cfg.tune.as_written(), "max_trials": 2}
    stamp = unit.stat().st_mtime_ns
    tune.run(cfg)  # the same best trial: its holdout units are fresh, nothing retrained
    assert read_json(cfg.comp_dir / "tune" / "h" / "summary.json")["holdout"] == holdout
    assert unit.stat().st_mtime_ns == stamp
