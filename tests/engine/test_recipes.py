"""Training recipes on the one core: flat_cosine, warm-restart cycles and snapshots, SWA
(the average, its BatchNorm recompute, `checkpoint: swa`), BatchNorm freeze and gradual
unfreezing. Exact resume of each is in test_resume_recipes.py."""

from __future__ import annotations

import math

import numpy as np
import pytest
import timm
import torch

from podium.artifacts import read_json
from podium.config import ConfigError, TrainConfig
from podium.engine.checkpoint import load_checkpoint
from podium.engine.freezing import set_trainable, unfreeze_schedule
from podium.engine.optim import build_scheduler
from podium.engine.precision import resolve_precision
from podium.engine.swa import Swa, recompute_batchnorm
from podium.engine.trainer import Interrupted, build_model
from podium.experiment import Experiment
from podium.stages import folds as folds_stage
from podium.stages import oof as oof_stage
from podium.stages import train as train_stage


def lr_curve(cfg: TrainConfig, updates_per_epoch: int) -> list[float]:
    """The LR of every update of a run, as the trainer steps the scheduler."""
    opt = torch.optim.SGD(torch.nn.Linear(2, 2).parameters(), lr=cfg.lr)
    sched = build_scheduler(opt, cfg, updates_per_epoch)
    lrs = []
    for n in range(1, cfg.epochs * updates_per_epoch + 1):
        lrs.append(opt.param_groups[0]["lr"])
        sched.step_update(num_updates=n)
    return lrs


def test_flat_cosine_is_flat_then_a_cosine_to_min_lr():
    cfg = TrainConfig(
        scheduler="flat_cosine", epochs=10, lr=0.1, min_lr=0.001, warmup_epochs=1,
        flat_fraction=0.5,
    )  # fmt: skip
    lrs = lr_curve(cfg, updates_per_epoch=10)
    assert lrs[0] == pytest.approx(1e-4)  # warmup starts low, rises linearly
    assert all(a < b for a, b in zip(lrs[:10], lrs[1:11], strict=True))
    assert lrs[10:50] == [0.1] * 40  # flat to half the run
    tail = lrs[50:]
    assert all(a > b for a, b in zip(tail, tail[1:], strict=False))  # then decays
    assert lrs[75] == pytest.approx(0.001 + 0.099 * 0.5 * (1 + math.cos(math.pi * 0.5)))
    assert lrs[-1] == pytest.approx(0.001, abs=2e-4)


def test_cycles_restart_the_cosine_at_each_cycle():
    cfg = TrainConfig(scheduler="cosine", epochs=6, cycles=3, lr=0.1, min_lr=0.0, warmup_epochs=0)
    lrs = lr_curve(cfg, updates_per_epoch=5)  # cycles of 10 updates
    for start in (0, 10, 20):
        assert lrs[start] == pytest.approx(0.1)
        assert lrs[start + 9] < 0.01
    halved = lr_curve(cfg.model_copy(update={"cycle_decay": 0.5}), updates_per_epoch=5)
    assert [halved[i] for i in (0, 10, 20)] == pytest.approx([0.1, 0.05, 0.025])
    with pytest.raises(ValueError, match="train.cycles=4 must divide train.epochs=6"):
        TrainConfig(epochs=6, cycles=4)
    with pytest.raises(ValueError, match="train.snapshots needs train.cycles >= 2"):
        TrainConfig(snapshots=True)


def test_swa_average_is_the_mean_of_the_weights_it_averaged():
    cfg = TrainConfig(epochs=4, lr=0.1, swa={"start_epoch": 2, "lr": 0.01})
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    swa = Swa(model, opt, cfg)
    assert not swa.active(0) and swa.active(1)
    seen = []
    for _ in range(3):
        with torch.no_grad():
            for p in model.parameters():
                p.add_(torch.randn_like(p))
        seen.append([p.detach().clone() for p in model.parameters()])
        assert swa.begin_epoch(1)
        opt.step()  # (no gradients: a no-op, in the order the trainer calls them)
        swa.end_epoch(model)
    assert swa.n_averaged == 3
    for i, p in enumerate(swa.module.parameters()):
        torch.testing.assert_close(p, torch.stack([w[i] for w in seen]).mean(0))
    assert opt.param_groups[0]["lr"] == pytest.approx(0.01)  # annealed to swa.lr in 1 epoch


def test_batchnorm_recompute_sets_running_stats_to_the_training_data():
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 3, 1), torch.nn.BatchNorm2d(3))
    torch.manual_seed(0)
    data = torch.randn(8, 4, 3, 5, 5) * 2 + 3  # 8 batches of 4 images
    bn = model[1]
    before = bn.running_mean.clone()
    recompute_batchnorm(model, [(x,) for x in data], resolve_precision(torch.device("cpu"), "fp32"))
    with torch.no_grad():
        features = model[0](data.flatten(0, 1))  # what the BN layer saw
    torch.testing.assert_close(bn.running_mean, features.mean((0, 2, 3)))
    assert not torch.allclose(bn.running_mean, before)
    assert bn.momentum == 0.1  # restored


def test_unfreezing_follows_timm_stage_groups_top_down():
    model = timm.create_model("test_resnet", num_classes=3)
    cfg = TrainConfig(epochs=4, unfreeze={"epochs": [2, 3]})
    schedule = unfreeze_schedule(model, cfg)

    def trainable(epoch: int) -> set[str]:
        set_trainable(model, cfg, epoch, schedule)
        stages = {n.split(".")[0] for n, p in model.named_parameters() if p.requires_grad}
        return stages

    # 5 groups (stem, layer1..4) in 2 chunks from the top: layer4-2, then layer1 + stem
    assert trainable(0) == {"fc"}
    assert trainable(1) == {"fc", "layer4", "layer3", "layer2"}
    assert (
        trainable(2)
        == trainable(3)
        == {"fc", "layer4", "layer3", "layer2", "layer1", "conv1", "bn1"}
    )
    with pytest.raises(ConfigError, match="lists 6 steps but the model has 5 stage groups"):
        unfreeze_schedule(model, TrainConfig(epochs=6, unfreeze={"epochs": [1, 2, 3, 4, 5, 6]}))
    with pytest.raises(ValueError, match="strictly increasing"):
        TrainConfig(unfreeze={"epochs": [2, 2]})


def _experiment(tiny_config, *extra: str) -> Experiment:
    cfg = tiny_config(*extra)
    folds_stage.run(cfg)
    return Experiment(cfg)


def test_frozen_batchnorm_keeps_running_stats_and_unfreezing_keeps_the_backbone(tiny_config):
    exp = _experiment(
        tiny_config,
        "model.name=test_resnet",
        "train.folds=[0]",
        "train.epochs=2",
        "train.freeze_bn=true",
        "train.freeze_bn_affine=true",
        "train.unfreeze={epochs: [2]}",
        "train.stop_after_epoch=1",
    )
    with pytest.raises(Interrupted):
        train_stage.run(exp)
    start = build_model(exp.cfg, exp.task.num_outputs, torch.device("cpu"), 0).state_dict()
    trained = load_checkpoint(exp.unit_dir(0, 0) / "last.pt")["model"]
    assert any(k.endswith("running_mean") for k in start)
    for k, v in start.items():
        if k.startswith("fc."):
            assert not torch.equal(v, trained[k]), k  # the head trained
        else:  # epoch 1: backbone frozen (unfreeze), BN statistics and affine kept
            assert torch.equal(v, trained[k]), k


def test_swa_checkpoint_and_snapshots_reach_oof(tiny_config):
    swa = _experiment(
        tiny_config,
        "name=swa",
        "model.name=test_resnet",
        "train.epochs=3",
        "train.swa={start_epoch: 2, lr: 0.001, anneal_epochs: 1}",
        "train.checkpoint=swa",
    )
    train_stage.run(swa)
    unit = swa.unit_dir(0, 0)
    state = load_checkpoint(unit / "swa.pt")
    assert state["n_averaged"] == 2
    assert read_json(unit / "result.json")["swa_score"] == state["score"]
    # the average's BN statistics were recomputed: they are not the last weights' own
    last = load_checkpoint(unit / "last.pt")["model"]
    key = next(k for k in state["model"] if k.endswith("running_mean"))
    assert not torch.equal(state["model"][key], last[key])
    oof_stage.run(swa)
    assert "best_checkpoint" in read_json(swa.run_dir / "scores.json")

    snap = _experiment(
        tiny_config,
        "name=snap",
        "train.epochs=4",
        "train.cycles=2",
        "train.snapshots=true",
        "train.checkpoint=snapshots",
    )
    train_stage.run(snap)
    unit = snap.unit_dir(0, 0)
    assert sorted(p.name for p in unit.glob("snapshot*.pt")) == ["snapshot1.pt", "snapshot2.pt"]
    assert [load_checkpoint(unit / f"snapshot{i}.pt")["epoch"] for i in (1, 2)] == [2, 4]
    oof_stage.run(snap)
    scores = read_json(snap.run_dir / "scores.json")
    assert set(scores["snapshots"]) == {"snapshot1", "snapshot2"}
    # the average is over both snapshots: it is neither one alone (unless they agree exactly)
    each = [scores["snapshots"][k]["valid_loss"] for k in ("snapshot1", "snapshot2")]
    assert scores["valid_loss"] not in each
    assert np.isfinite(scores["cv"])
