"""Exact resume: a unit stopped after an epoch (as if killed) and re-run ends with the same
weights, optimizer, scheduler and EMA state as a run that was never interrupted, with
mixup/cutmix, augmentations, gradient accumulation and clipping on."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import torch

from podium.engine.checkpoint import load_checkpoint
from podium.engine.trainer import Interrupted
from podium.experiment import Experiment
from podium.stages import folds as folds_stage
from podium.stages import train as train_stage

SETTINGS = (
    "train.epochs=3",
    "train.folds=[0]",
    "train.batch_size=32",
    "train.ema_decay=0.9",
    "train.mixup_alpha=0.4",
    "train.cutmix_alpha=1.0",
    "train.mixup_prob=0.8",
    "train.grad_accum=2",
    "train.clip_grad=1.0",
    "model.drop_path_rate=0.1",  # stochastic depth: random per step, too
)


def assert_same(a, b, where: str = "") -> None:
    """Every tensor equal bit for bit; plain values equal; timings ignored."""
    if isinstance(a, torch.Tensor):
        assert torch.equal(a, b), f"{where} differs"
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            if k != "seconds":
                assert_same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{where}[{i}]")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def experiment(tiny_config, root: Path, name: str, *extra: str) -> Experiment:
    cfg = tiny_config(
        *SETTINGS,
        f"paths.data={root}",
        f"paths.runs={root.parent / name}",
        "competition.solution=null",
        *extra,
    )
    folds_stage.run(cfg)
    return Experiment(cfg)


def test_resume_gives_the_same_weights_as_an_uninterrupted_run(tiny_config, small_demo):
    whole = experiment(tiny_config, small_demo, "whole")
    train_stage.run(whole)

    unit = experiment(tiny_config, small_demo, "resumed").unit_dir(0, 0)
    with pytest.raises(Interrupted, match="after epoch 1"):
        train_stage.run(experiment(tiny_config, small_demo, "resumed", "train.stop_after_epoch=1"))
    assert load_checkpoint(unit / "last.pt")["epoch"] == 0
    assert not (unit / "result.json").exists()  # not finished: the next run resumes
    assert len(pd.read_csv(unit / "history.csv")) == 1
    with pytest.raises(Interrupted, match="after epoch 2"):
        train_stage.run(experiment(tiny_config, small_demo, "resumed", "train.stop_after_epoch=2"))
    train_stage.run(experiment(tiny_config, small_demo, "resumed"))

    done = whole.unit_dir(0, 0)
    for name in ("last.pt", "best.pt"):
        assert_same(load_checkpoint(done / name), load_checkpoint(unit / name), name)
    last = load_checkpoint(unit / "last.pt")
    assert last["ema"] is not None and last["epoch"] == 2 and len(last["history"]) == 3
    history = pd.read_csv(unit / "history.csv").drop(columns="seconds")
    pd.testing.assert_frame_equal(
        history, pd.read_csv(done / "history.csv").drop(columns="seconds")
    )
