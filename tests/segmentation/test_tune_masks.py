"""`podium tune` on a segmentation experiment through the CLI, on a tiny copy of the demo
(48 train images of 32 px, 2 folds, 1 epoch a trial): each trial trains its mask units on
fold 0, reports its per-epoch Dice at 0.5 to the pruner, and is worth the honest CV Dice of
its fold-0 maps (threshold and minimum area fitted on the other inner parts, as oof fits
them on the other folds); the holdout trains the best settings and the baseline on fold 1
and scores both there, pooled and post-processed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from factories import tiny_mask_overrides
from podium.cli import main
from podium.config import load_config
from podium.experiment import Experiment
from podium.mask_data import fold_maps, small_targets
from podium.segmentation.demo import write_segmentation_demo
from podium.tuning.decided import inner_parts

ROOT = Path(__file__).resolve().parents[2]
UNET = ROOT / "configs/digits_segmentation/unet.yaml"
SIZE = 32


@pytest.fixture(scope="module")
def tune_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("segtune")
    write_segmentation_demo(tmp / "data/digits_segmentation", size=SIZE, n_train=48, n_test=8)
    d = load_config(UNET, tiny_mask_overrides(tmp, SIZE)).resolved()
    d["name"] = "unet-tune"
    d["infer"]["tta"] = ["identity"]
    d["tune"] = {
        "study": "seg",
        "n_trials": 2,
        "keep_checkpoints": True,
        "space": {"train.lr": {"type": "float", "low": 1.0e-3, "high": 1.0e-2, "log": True}},
        "sampler": {"name": "tpe", "seed": 0},
        "pruner": {"name": "none"},
    }
    path = tmp / "tune.yaml"
    path.write_text(yaml.safe_dump(d, sort_keys=False))
    return path


def test_tune_scores_trials_by_their_honest_post_processed_dice(tune_file, capsys):
    assert main(["tune", "-c", str(tune_file)]) == 0
    out = capsys.readouterr().out
    assert "tune seg: 2 complete" in out
    cfg = load_config(tune_file)
    study = cfg.comp_dir / "tune/seg"
    trials = pd.read_csv(study / "trials.csv")
    assert len(trials) == 2 and trials["value"].between(0, 1).all()
    summary = json.loads((study / "summary.json").read_text())
    # trial 0's value: its fold-0 maps post-processed CV-honestly over the inner parts
    best = int(summary["best_trial"])
    exp = Experiment(
        load_config(
            tune_file,
            [
                "tune=null",
                "train.folds=[0]",
                f"name=seg-trial{best:04d}",
                f"train.lr={summary['best_params']['train.lr']}",
            ],
        ).nest_run(f"tune/seg/trial{best:04d}")
    )
    rows = np.flatnonzero(exp.fold_of_row == 0)
    y = small_targets(exp)[rows].astype(bool)
    maps = fold_maps(exp, 0, exp.train_images[rows]).astype(np.float16).astype(np.float32)
    decision = exp.task.decision
    assert decision is not None
    honest = decision.fit_cv(y, maps, inner_parts(len(rows))).summary.cv_score
    assert summary["best_value"] == pytest.approx(honest, abs=1e-9)
    # the holdout: the best settings and the untuned baseline on fold 1, pooled and decided
    holdout = summary["holdout"]
    assert holdout["holdout_folds"] == [1] and holdout["metric"] == "dice"
    assert 0 <= holdout["holdout_cv"] <= 1 and 0 <= holdout["baseline_cv"] <= 1
    assert (study / "best.yaml").is_file()
