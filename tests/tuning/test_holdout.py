"""A study's best trial is the best of many draws on the folds it was tuned on: `podium tune`
also trains the best settings and the untuned baseline on the other folds, scores both there
pooled as `podium oof` would (cut-points fitted CV-honestly for an ordinal task), and reports
the paired gain of the one over the other."""

from __future__ import annotations

import numpy as np
import yaml

from factories import tiny_task_overrides
from podium.artifacts import read_json
from podium.cli import main
from podium.config import load_config
from podium.experiment import Experiment

SPACE = {"train.lr": {"type": "float", "low": 1e-3, "high": 1e-2, "log": True}}


def write_tune(path, cfg_dict: dict, study: str) -> str:
    section = {"study": study, "space": SPACE, "n_trials": 2, "pruner": {"name": "none"}}
    path.write_text(yaml.safe_dump({**cfg_dict, "tune": section}))
    return str(path)


def test_the_best_settings_and_the_baseline_are_scored_on_the_folds_not_tuned_on(
    tiny_config, tmp_path, capsys
):
    cfg = tiny_config("folds.n_splits=3", "train.folds=[0]")
    path = write_tune(tmp_path / "tune.yaml", cfg.resolved(), "h")
    assert main(["tune", "-c", path]) == 0
    out = capsys.readouterr().out
    study_dir = cfg.comp_dir / "tune" / "h"
    summary = read_json(study_dir / "summary.json")
    h = summary["holdout"]
    assert h["tuned_folds"] == [0] and h["holdout_folds"] == [1, 2]
    assert h["trial"] == summary["best_trial"]
    # the baseline (the config's own settings) trained on the held-out folds only
    for folder in (f"holdout-trial{h['trial']:04d}", "holdout-baseline"):
        assert sorted(p.name for p in (study_dir / folder).glob("fold*")) == ["fold1", "fold2"]
    # pooled over the held-out rows, as oof scores them: one block per run, each fold's beside
    assert h["rows"] == np.isin(Experiment(cfg).fold_of_row, [1, 2]).sum()
    assert set(h["tuned"]["folds"]) == set(h["baseline"]["folds"]) == {"1", "2"}
    assert (
        h["holdout_cv"] == h["tuned"]["accuracy"] and h["baseline_cv"] == h["baseline"]["accuracy"]
    )
    g = h["gain"]
    assert np.isclose(g["observed"], h["holdout_cv"] - h["baseline_cv"])
    assert g["low"] <= g["observed"] <= g["high"]
    assert g["verdict"] == ("within noise" if g["low"] <= 0 <= g["high"] else g["verdict"])
    # what the user reads: both figures, the gain, its interval and what the interval says
    assert f"{h['holdout_cv']:.6g} tuned vs {h['baseline_cv']:.6g} untuned baseline" in out
    assert f"gain {g['observed']:+.4f} (95% paired bootstrap" in out and g["verdict"] in out

    # the study is complete: a re-run trains nothing and reports the same holdout
    unit = study_dir / "holdout-baseline" / "fold1" / "seed0" / "result.json"
    stamp = unit.stat().st_mtime_ns
    assert main(["tune", "-c", path, "tune.max_trials=2"]) == 0
    assert read_json(study_dir / "summary.json")["holdout"] == h
    assert unit.stat().st_mtime_ns == stamp


def test_an_ordinal_holdout_is_graded_with_cut_points_fitted_without_each_fold(tmp_path, capsys):
    overrides = [*tiny_task_overrides(tmp_path, "ordinal"), "folds.n_splits=3", "train.folds=[0]"]
    cfg = load_config("configs/digits_ordinal/resnet10t.yaml", overrides)
    path = write_tune(tmp_path / "tune.yaml", cfg.resolved(), "o")
    assert main(["tune", "-c", path]) == 0
    h = read_json(cfg.comp_dir / "tune" / "o" / "summary.json")["holdout"]
    for block in (h["tuned"], h["baseline"]):
        cut = block["decision"]
        assert cut["kind"] == "cutpoints" and set(cut["fold_params"]) == {"1", "2"}
        assert block["qwk"] == cut["cv_score"]  # graded at cut-points fitted without the fold
    assert h["holdout_cv"] == h["tuned"]["decision"]["cv_score"]
    assert "qwk" in capsys.readouterr().out
