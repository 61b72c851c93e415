"""Meta mode's holdout: trials are scored on the tuned folds' rows of the meta CV, and the
best parameters are checked against the ensemble's own meta params on the other folds' rows,
pooled and paired, as train mode's holdout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from podium.artifacts import read_json
from podium.competition import Competition
from podium.config import load_config
from podium.predictions import OOF, TEST, write_oof, write_test
from podium.stages import folds as folds_stage
from podium.stages import tune

ROOT = Path(__file__).resolve().parents[2]
META = {
    "seeds": [0],
    "early_stopping_rounds": 10,
    "n_jobs": 1,
    "params": {"n_estimators": 40, "learning_rate": 0.3, "max_depth": 3},
}


def noisy_proba(labels: np.ndarray, strength: float, rng: np.random.Generator) -> np.ndarray:
    logits = rng.normal(size=(len(labels), 10))
    logits[np.arange(len(labels)), labels] += strength
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_meta_mode_checks_its_best_params_on_the_folds_it_did_not_tune_on(
    tmp_path, demo_data_root, capsys
):
    paths = {
        "data": str(demo_data_root),
        "runs": str(tmp_path / "runs"),
        "submissions": str(tmp_path / "subs"),
    }
    base = str(ROOT / "configs/digits/base.yaml")
    ensemble = {"members": ["a.yaml", "b.yaml"], "meta": META}
    section = {
        "mode": "meta",
        "study": "m",
        "n_trials": 2,
        "space": {"max_depth": {"type": "int", "low": 1, "high": 4}},
    }
    path = tmp_path / "tune_meta.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "extends": base,
                "name": "stack",
                "paths": paths,
                "folds": {"n_splits": 4},
                "ensemble": ensemble,
                "tune": section,
            }
        )
    )
    cfg = load_config(path)
    folds_stage.run(cfg)
    comp = Competition.from_config(cfg)
    task, rng = comp.task, np.random.default_rng(0)
    fold = pd.read_csv(cfg.folds_path, dtype={"id": str})["fold"].to_numpy()
    for name, strength in (("a", 1.5), ("b", 1.0)):
        (tmp_path / f"{name}.yaml").write_text(
            yaml.safe_dump(
                {"extends": base, "name": name, "paths": paths, "folds": {"n_splits": 4}}
            )
        )
        run = cfg.comp_dir / name
        oof = noisy_proba(comp.targets, strength, rng)
        write_oof(run / OOF, task, comp.train_ids, fold, task.target_frame(comp.train), oof)
        write_test(
            run / TEST, task, comp.test_ids, noisy_proba(np.zeros(len(comp.test_ids), int), 0, rng)
        )

    tune.run(cfg)  # the stage alone: the pipeline would train the members the test wrote
    out = capsys.readouterr().out
    h = read_json(cfg.comp_dir / "tune" / "m" / "summary.json")["holdout"]
    assert h["tuned_folds"] == [0, 1] and h["holdout_folds"] == [2, 3]
    assert h["rows"] == np.isin(fold, [2, 3]).sum()
    assert set(h["tuned"]["folds"]) == set(h["baseline"]["folds"]) == {"2", "3"}
    g = h["gain"]
    assert np.isclose(g["observed"], h["holdout_cv"] - h["baseline_cv"])
    assert g["low"] <= g["observed"] <= g["high"]
    assert f"{h['holdout_cv']:.6g} tuned vs {h['baseline_cv']:.6g} untuned baseline" in out
    assert g["verdict"] in out
