"""Where the task decides, a trial's value is the metric of its validation rows decided
CV-honestly (ordinal: QWK at cut-points fitted without the rows they grade), not the rounded
per-epoch QWK that nothing downstream reports."""

from __future__ import annotations

import numpy as np
import optuna
import pandas as pd
import yaml

from factories import tiny_task_overrides
from podium.cli import main
from podium.config import load_config
from podium.experiment import Experiment
from podium.metrics.ordinal import quadratic_weighted_kappa
from podium.tasks.decisions.cutpoints import Cutpoints
from podium.tuning import study as study_module
from podium.tuning.decided import decided_score, inner_parts
from podium.tuning.storage import build_storage
from podium.units.predict import valid_predictions


class _Ordinal:  # the two members of a task that decided_score's scoring path reads
    def __init__(self) -> None:
        grades = np.arange(5)
        self.decision = Cutpoints(grades)
        self.metric = _Qwk()
        self.valid_loss = _Mse()


class _Qwk:
    name, greater_is_better, per_row = "qwk", True, None

    def __call__(self, y, pred):
        return quadratic_weighted_kappa(y, np.clip(np.rint(pred.ravel()), 0, 4), np.arange(5))


class _Mse:
    name, greater_is_better, per_row = "mse", False, None

    def __call__(self, y, pred):
        return float(np.mean((pred.ravel() - y) ** 2))


def test_one_folds_rows_are_graded_at_cut_points_fitted_on_the_other_parts():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 5, 400)
    pred = (y + 0.45 + rng.normal(0, 0.2, len(y))).reshape(-1, 1)  # biased: rounding is off
    fold = np.zeros(len(y), dtype=int)
    rounded = _Qwk()(y, pred)
    honest = decided_score(_Ordinal(), y, pred, fold)
    assert honest > rounded + 0.05
    parts = inner_parts(len(y))
    assert sorted(np.bincount(parts)) == [80] * 5
    # the same figure as scoring the parts as folds: fitted on rows it does not grade
    direct = Cutpoints(np.arange(5)).fit_cv(y, pred, parts)
    assert honest == _Qwk()(y, direct.decided_oof)


def test_an_ordinal_trials_value_is_its_decided_qwk(tmp_path, monkeypatch, capsys):
    overrides = tiny_task_overrides(tmp_path, "ordinal")
    cfg = load_config("configs/digits_ordinal/resnet10t.yaml", overrides)
    section = {
        "study": "q",
        "space": {"train.lr": {"type": "float", "low": 1e-3, "high": 1e-2, "log": True}},
        "n_trials": 2,
        "pruner": {"name": "none"},
        "keep_checkpoints": True,
        "holdout": False,
    }
    path = tmp_path / "tune.yaml"
    path.write_text(yaml.safe_dump({**cfg.resolved(), "tune": section}))
    assert main(["tune", "-c", str(path)]) == 0
    study = optuna.load_study(
        study_name="q", storage=build_storage(f"sqlite:///{cfg.comp_dir / 'optuna.db'}", None)
    )
    table = pd.read_csv(cfg.comp_dir / "tune" / "q" / "trials.csv")
    for t in study.trials:
        run_cfg = load_config(cfg.comp_dir / t.user_attrs["run_name"] / "config.yaml")
        exp = Experiment(run_cfg.nest_run(t.user_attrs["run_name"]))
        rows, pred = valid_predictions(exp, [0])
        y = exp.comp.targets[rows]
        expected = decided_score(exp.task, y, pred, exp.fold_of_row[rows])
        assert t.value == expected  # graded at cut-points fitted on other rows of fold 0
        assert t.user_attrs["undecided_value"] == np.mean(t.user_attrs["unit_scores"])
        assert table.loc[table["number"] == t.number, "value"].item() == t.value

    # a study made before trial values were decided holds rounded QWKs: refused, not mixed
    with monkeypatch.context() as m:
        m.setattr(study_module, "DECIDING_TASKS", ())
        old = study_module.base_fingerprint(load_config(path))
    study.set_user_attr(study_module.FINGERPRINT_ATTR, old)
    capsys.readouterr()
    assert main(["tune", "-c", str(path)]) == 2
    err = capsys.readouterr().err
    assert "study 'q'" in err and "holds rounded values: start a new study" in err
