"""The training loop on tiny synthetic data: what a unit writes, the epoch hook, early
stopping, the frozen-backbone warmup, gradient accumulation, precision and weighted rows; on a
CUDA device (`-m cuda`), a unit in bf16 and in fp16 (its grad scaler's state saved for resume)
and a compiled unit whose checkpoints load into the plain model."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from podium.artifacts import read_json
from podium.engine.checkpoint import inference_state, load_checkpoint
from podium.engine.precision import resolve_device, resolve_precision
from podium.engine.seeding import seed_everything
from podium.engine.trainer import TrainRows, ValidRows, fit
from podium.models import create_model, head_parameters
from podium.tasks.classification import Multiclass


def rows(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two classes a tiny convnet separates in an epoch: dark and bright squares with noise."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    base = np.where(labels[:, None, None, None] == 1, 170, 60)
    images = np.clip(base + rng.normal(0, 25, (n, 32, 32, 3)), 0, 255).astype(np.uint8)
    return images, labels


@pytest.fixture(scope="module")
def data() -> tuple[TrainRows, ValidRows]:
    x, y = rows(96, 0)
    xv, yv = rows(32, 1)
    return TrainRows(x, np.eye(2, dtype=np.float32)[y]), ValidRows(xv, yv)


def two_classes(cfg):
    """The task of the synthetic rows: two classes, dark and bright."""
    return Multiclass(cfg.competition, Path("synthetic"), ["dark", "bright"])


@pytest.fixture
def config(tiny_config):
    def build(*overrides: str):
        return tiny_config(
            "data.train_augs=[]", "train.batch_size=16", "train.warmup_epochs=0", *overrides
        )

    return build


def test_a_unit_writes_checkpoints_history_and_result(config, data, tmp_path):
    seen = []
    cfg = config("train.epochs=2")
    result = fit(
        cfg,
        two_classes(cfg),
        *data,
        tmp_path / "unit",
        seed=0,
        on_epoch_end=lambda e, m: seen.append((e, m)),
    )
    unit = tmp_path / "unit"
    assert (unit / "result.json").exists()
    assert {p.name for p in unit.iterdir()} == {"best.pt", "last.pt", "history.csv", "result.json"}
    history = pd.read_csv(unit / "history.csv")
    assert list(history["epoch"]) == [1, 2]
    assert {"train_loss", "valid_loss", "valid_accuracy", "lr", "seconds"} <= set(history.columns)
    assert [e for e, _ in seen] == [0, 1] and seen[1][1]["valid_accuracy"] == history[
        "valid_accuracy"
    ][1]
    assert read_json(unit / "result.json") == result
    assert result["epochs_run"] == 2 and result["best_score"] == history["valid_accuracy"].max()
    assert result["best_score"] > 0.9  # it learned the task
    best = load_checkpoint(unit / "best.pt")  # weights_only: plain tensors and numbers
    assert best["epoch"] == result["best_epoch"] and best["score"] == result["best_score"]
    assert inference_state(unit, "last").keys() == best["model"].keys()


def test_early_stopping_stops_after_patience_epochs_without_gain(config, data, tmp_path):
    # a learning rate too small to change any prediction: epoch 1 is the best there will be
    cfg = config(
        "train.epochs=5",
        "train.lr=1e-12",
        "train.early_stopping_patience=1",
        "train.scheduler=none",
    )
    result = fit(cfg, two_classes(cfg), *data, tmp_path, seed=0)
    assert result["epochs_run"] == 2 and result["best_epoch"] == 1


def test_frozen_backbone_trains_only_the_head(config, data, tmp_path):
    cfg = config("train.epochs=1", "train.freeze_backbone_epochs=1")
    fit(cfg, two_classes(cfg), *data, tmp_path, seed=3)
    seed_everything(3)
    initial = create_model(cfg.model, 2)
    head = {n for n, p in initial.named_parameters() if id(p) in head_parameters(initial)}
    trained = load_checkpoint(tmp_path / "last.pt")["model"]
    for name, p in initial.named_parameters():
        assert torch.equal(trained[name], p.detach()) != (name in head), name


def test_gradient_accumulation_counts_updates(config, data, tmp_path):
    cfg = config("train.epochs=1", "train.grad_accum=4")
    fit(cfg, two_classes(cfg), *data, tmp_path, seed=0)
    batches = 96 // 16
    assert load_checkpoint(tmp_path / "last.pt")["num_updates"] == math.ceil(batches / 4)


def test_rows_with_zero_weight_do_not_train(config, data, tmp_path):
    """Row weights scale each row's loss (pseudo-label rows use them): rows weighted 0 give
    no gradient, so a unit of only such rows ends where it began (weight decay off)."""
    train, valid = data
    silent = TrainRows(train.images, train.targets, np.zeros(len(train.images), np.float32))
    cfg = config("train.epochs=1", "train.weight_decay=0", "train.scheduler=none")
    fit(cfg, two_classes(cfg), silent, valid, tmp_path, seed=5)
    seed_everything(5)
    initial = create_model(cfg.model, 2).state_dict()
    trained = load_checkpoint(tmp_path / "last.pt")["model"]
    assert all(torch.equal(trained[k], v) for k, v in initial.items())


def test_ema_weights_are_the_ones_evaluated(config, data, tmp_path):
    cfg = config("train.epochs=1", "train.ema_decay=0.5")
    fit(cfg, two_classes(cfg), *data, tmp_path, seed=0)
    last = load_checkpoint(tmp_path / "last.pt")
    best = load_checkpoint(tmp_path / "best.pt")
    key = "head.fc.weight"
    assert torch.equal(best["model"][key], last["ema"][key])
    assert not torch.equal(last["ema"][key], last["model"][key])
    assert torch.equal(inference_state(tmp_path, "last")[key], last["ema"][key])


def test_bf16_autocast_path_runs_on_cpu(config, data, tmp_path):
    cfg = config("train.epochs=1", "train.precision=bf16")
    result = fit(cfg, two_classes(cfg), *data, tmp_path, seed=0)
    assert result["best_score"] > 0.5


def test_precision_choice():
    cpu = torch.device("cpu")
    assert resolve_device("cpu") == cpu
    assert resolve_precision(cpu, "auto").dtype == torch.float32  # CPU autocast is slower
    assert resolve_precision(cpu, "bf16").dtype == torch.bfloat16
    assert not resolve_precision(cpu, "auto").uses_scaler
    if torch.cuda.is_available():
        cuda = torch.device("cuda")
        assert resolve_precision(cuda, "fp16").uses_scaler
        assert resolve_precision(cuda, "auto").dtype in (torch.bfloat16, torch.float16)


def test_a_tied_metric_keeps_the_epoch_with_the_lower_validation_loss(config, data, tmp_path):
    """A saturated metric (accuracy 1.0 from epoch 1 on two separable classes) must not freeze
    `best.pt` at its first epoch: ties are broken by the validation loss."""
    cfg = config("train.epochs=3", "train.lr=0.003")
    fit(cfg, two_classes(cfg), *data, tmp_path, seed=0)
    history = pd.read_csv(tmp_path / "history.csv")
    assert (history["valid_accuracy"] == 1.0).all()  # tied at every epoch
    assert history["valid_loss"].is_monotonic_decreasing
    assert load_checkpoint(tmp_path / "best.pt")["epoch"] == 3  # not epoch 1, the first tie


@pytest.mark.cuda
@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_a_unit_learns_on_a_gpu_in_half_precision(config, data, tmp_path, precision):
    cfg = config("train.epochs=3", "train.device=cuda", f"train.precision={precision}")
    result = fit(cfg, two_classes(cfg), *data, tmp_path, seed=0)
    assert result["best_score"] > 0.9
    last = load_checkpoint(tmp_path / "last.pt")
    assert all(v.dtype == torch.float32 for v in last["model"].values() if v.is_floating_point())
    assert ("scale" in last["scaler"]) == (precision == "fp16")  # fp16's loss scale resumes


@pytest.mark.cuda
def test_a_compiled_unit_on_a_gpu_learns_and_saves_the_plain_model(config, data, tmp_path):
    cfg = config("train.epochs=2", "train.device=cuda", "train.compile=true")
    result = fit(cfg, two_classes(cfg), *data, tmp_path, seed=0)
    assert result["best_score"] > 0.9
    best = load_checkpoint(tmp_path / "best.pt")["model"]
    create_model(cfg.model, 2).load_state_dict(best)  # strict: no torch.compile prefix
