"""Optimizers and schedules from timm's factories: discriminative learning rates (backbone
vs head), no weight decay on biases and norms, warmup + cosine and one-cycle."""

from __future__ import annotations

import pytest
import torch

from podium.config import ConfigError, ModelConfig, TrainConfig
from podium.engine.optim import build_optimizer, build_scheduler, param_groups
from podium.models import create_model, head_parameters


@pytest.fixture(scope="module")
def model():
    return create_model(ModelConfig(name="test_convnext"), num_classes=3)


def test_head_and_backbone_get_their_own_learning_rates(model):
    cfg = TrainConfig(lr=0.01, backbone_lr_mult=0.1, weight_decay=0.05)
    groups = param_groups(model, cfg)
    head = head_parameters(model)
    for g in groups:
        in_head = {id(p) in head for p in g["params"]}
        assert len(in_head) == 1  # a group is all head or all backbone
        assert g["lr"] == pytest.approx(0.01 if in_head.pop() else 0.001)
        no_decay = {p.ndim <= 1 for p in g["params"]}
        assert len(no_decay) == 1
        assert g["weight_decay"] == (0.0 if no_decay.pop() else 0.05)
    assert sum(len(g["params"]) for g in groups) == len(list(model.parameters()))


@pytest.mark.parametrize("name, cls", [("adamw", torch.optim.AdamW), ("sgd", torch.optim.SGD)])
def test_optimizers_by_name(model, name, cls):
    opt = build_optimizer(model, TrainConfig(optimizer=name, lr=0.02))
    assert isinstance(opt, cls)
    if name == "sgd":
        assert opt.param_groups[0]["momentum"] == 0.9


def test_unknown_optimizer_names_the_key(model):
    with pytest.raises(ConfigError, match=r"train\.optimizer='adamm'"):
        build_optimizer(model, TrainConfig(optimizer="adamm"))


def lrs(cfg: TrainConfig, model, updates_per_epoch: int = 4) -> list[list[float]]:
    """Learning rates of every group after each update, stepped as the trainer steps."""
    opt = build_optimizer(model, cfg)
    sched = build_scheduler(opt, cfg, updates_per_epoch)
    seen, n = [], 0
    for epoch in range(cfg.epochs):
        for _ in range(updates_per_epoch):
            opt.step()
            n += 1
            sched.step_update(num_updates=n)
            seen.append([g["lr"] for g in opt.param_groups])
        sched.step(epoch + 1, 0.0)
    return seen


def test_warmup_then_cosine_decay_keeps_the_backbone_ratio(model):
    cfg = TrainConfig(lr=0.1, epochs=4, warmup_epochs=1, min_lr=0.0, backbone_lr_mult=0.5)
    seen = lrs(cfg, model)
    top = [max(s) for s in seen]
    assert top[:4] == sorted(top[:4]) and top[0] < 0.3 * top[3]  # warming up over the first epoch
    assert max(top) == top[3] > 0.05  # timm's cosine spans the warmup too: the peak is < lr
    assert top[3:] == sorted(top[3:], reverse=True) and top[-1] < 1e-3  # then decaying
    for s in seen[3:-1]:  # the last update reaches min_lr = 0
        assert min(s) / max(s) == pytest.approx(0.5, abs=1e-6)


@pytest.mark.filterwarnings("ignore:Detected call")  # the resume half steps no optimizer
def test_one_cycle_rises_then_falls_and_resumes_from_its_state(model):
    cfg = TrainConfig(lr=0.1, epochs=3, scheduler="onecycle", warmup_epochs=1)
    top = [max(s) for s in lrs(cfg, model)]
    peak = top.index(max(top))
    assert 0 < peak < len(top) - 1 and max(top) == pytest.approx(0.1, rel=0.03)
    assert top[-1] < 0.01

    opt = build_optimizer(model, cfg)
    sched = build_scheduler(opt, cfg, 4)
    for n in range(1, 6):
        sched.step_update(num_updates=n)
    resumed = build_scheduler(build_optimizer(model, cfg), cfg, 4)
    resumed.load_state_dict(sched.state_dict())
    sched.step_update(num_updates=6)
    resumed.step_update(num_updates=6)
    assert resumed.sched.get_last_lr() == sched.sched.get_last_lr()


def test_no_schedule_keeps_the_rate(model):
    top = [max(s) for s in lrs(TrainConfig(lr=0.05, epochs=2, scheduler="none"), model)]
    assert set(top) == {0.05}
