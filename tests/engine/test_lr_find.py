"""The learning-rate range test: a sweep that stops when the loss diverges, a suggestion
inside the swept range, and its files beside the experiment."""

from __future__ import annotations

import numpy as np
import pandas as pd

from podium.engine.lr_find import suggest
from podium.experiment import Experiment
from podium.stages import folds, lr_find


def test_suggestion_is_the_steepest_descent():
    lrs = np.logspace(-6, 0, 50)
    losses = 2.0 - 1.5 / (1 + np.exp(-(np.log10(lrs) + 3) * 3))  # falls fastest at 1e-3
    assert 3e-4 < suggest(lrs, losses) < 3e-3


def test_lr_find_stage_writes_its_curve(tiny_config):
    cfg = tiny_config()
    folds.run(cfg)
    result = lr_find.run(Experiment(cfg), steps=30)
    assert result.lrs[0] < result.suggestion < result.lrs[-1]
    assert np.all(np.diff(result.lrs) > 0)
    curve = pd.read_csv(cfg.run_dir / "lr_find.csv")
    assert len(curve) == len(result.lrs) <= 30
    assert (cfg.run_dir / "lr_find.png").stat().st_size > 0
