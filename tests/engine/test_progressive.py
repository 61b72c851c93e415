"""Progressive resizing (`train.stages`): the image size of each epoch, the schedule's
segments (a stage with `lr` restarts it), the config checks, and a unit that trains each stage
at its size, validates at `data.image_size` and resumes in the right stage. Exact resume with
stages is in test_resume_recipes.py."""

from __future__ import annotations

import pytest
import torch

from podium.config import ConfigError, TrainConfig
from podium.engine import trainer
from podium.engine.progressive import StagedScheduler, segments, stage_sizes
from podium.engine.trainer import Interrupted
from podium.experiment import Experiment
from podium.stages import folds as folds_stage
from podium.units.train import train_units

STAGES = "train.stages=[{epochs: 2, image_size: 16}, {epochs: 1, image_size: 24}, {epochs: 1}]"


def test_stage_sizes_cover_every_epoch_and_end_at_the_final_size():
    tc = TrainConfig.model_validate(
        {
            "stages": [
                {"epochs": 2, "image_size": 16},
                {"epochs": 1, "image_size": [24, 20]},
                {"epochs": 1},
            ]
        }
    )
    assert tc.epochs == 4  # the stages' sum when train.epochs is not given
    assert stage_sizes(tc, (32, 32)) == [(16, 16), (16, 16), (24, 20), (32, 32)]
    assert stage_sizes(TrainConfig(epochs=2), (32, 32)) == [(32, 32)] * 2


def test_a_stage_with_lr_restarts_the_schedule():
    tc = TrainConfig.model_validate(
        {
            "lr": 0.1, "min_lr": 0.0, "warmup_epochs": 0, "scheduler": "cosine",
            "stages": [{"epochs": 2}, {"epochs": 1}, {"epochs": 2, "lr": 0.01}],
        }
    )  # fmt: skip
    assert [(s.start, s.stop, s.lr) for s in segments(tc)] == [(0, 3, 0.1), (3, 5, 0.01)]
    opt = torch.optim.SGD(torch.nn.Linear(2, 2).parameters(), lr=tc.lr)
    sched = StagedScheduler(opt, tc, updates_per_epoch=4)
    lrs, n = [], 0
    for epoch in range(tc.epochs):
        for _ in range(4):
            lrs.append(opt.param_groups[0]["lr"])
            n += 1
            sched.step_update(n)
        sched.step(epoch + 1)
    assert lrs[0] == pytest.approx(0.1)
    assert lrs[11] < 0.01  # the first segment decays over its 3 epochs
    assert lrs[12] == pytest.approx(0.01)  # the restart peaks at the stage's lr
    assert all(a >= b for a, b in zip(lrs[12:], lrs[13:], strict=False))


def test_stage_config_errors_name_the_key(tiny_config):
    with pytest.raises(ConfigError, match="differs from the stages' sum"):
        tiny_config("train.epochs=3", "train.stages=[{epochs: 1}]")
    with pytest.raises(
        ConfigError, match=r"stages\[-1\].image_size \[16, 16\] must be data.image_size"
    ):
        tiny_config("train.stages=[{epochs: 1, image_size: 16}]")
    with pytest.raises(
        ConfigError, match=r"stages\[0\].image_size \[48, 48\] is larger than the decode"
    ):
        tiny_config("train.epochs=2", "train.stages=[{epochs: 1, image_size: 48}, {epochs: 1}]")
    with pytest.raises(ConfigError, match="without train.cycles"):
        tiny_config("train.scheduler=onecycle", "train.stages=[{epochs: 1}]")


def _experiment(tiny_config, *extra: str) -> Experiment:
    cfg = tiny_config(
        "train.folds=[0]", "model.name=test_resnet", "train.batch_size=64", "train.epochs=4", *extra
    )
    folds_stage.run(cfg)
    return Experiment(cfg)


def _record_sizes(monkeypatch) -> list[tuple[int, int]]:
    """The input size of every training step (validation runs in eval mode)."""
    seen: list[tuple[int, int]] = []
    build = trainer.build_model

    def recording(*args, **kwargs):
        model = build(*args, **kwargs)

        def hook(module, inputs):
            (x,) = inputs
            (seen if module.training else []).append(tuple(x.shape[-2:]))

        model.register_forward_pre_hook(hook)
        return model

    monkeypatch.setattr(trainer, "build_model", recording)
    return seen


def test_each_stage_trains_at_its_size_and_resumes_in_its_stage(tiny_config, monkeypatch):
    seen = _record_sizes(monkeypatch)
    per_epoch: list[set] = []

    def on_epoch_end(epoch, row):
        per_epoch.append(set(seen))
        seen.clear()

    exp = _experiment(tiny_config, STAGES, "train.stop_after_epoch=2")
    with pytest.raises(Interrupted):
        train_units(exp, on_epoch_end=on_epoch_end)
    exp = _experiment(tiny_config, STAGES)
    train_units(exp, on_epoch_end=on_epoch_end)  # resumes at epoch 3: the 24-px stage
    assert per_epoch == [{(16, 16)}, {(16, 16)}, {(24, 24)}, {(32, 32)}]
    history = (exp.unit_dir(0, 0) / "history.csv").read_text().splitlines()
    assert len(history) == 1 + 4  # validated every epoch (at data.image_size)
