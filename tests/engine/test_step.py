"""The training step (`engine.step`) on a batch as `fit` feeds it (the loader's batches moved
to the device by `device_batches`): updates only on an update's last micro-step; on a CUDA
device (`-m cuda`) autocast in bf16, fp16 with a grad scaler that skips steps with
non-finite gradients, channels_last inputs and weights, EMA kept on the device, and the
compiled forward."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from podium.engine.inputs import build_train_loader, device_batches
from podium.engine.network import build_model
from podium.engine.rows import TrainRows
from podium.engine.step import TrainStep, build_step
from podium.tasks.classification import Multiclass

CUDA = torch.device("cuda")


@pytest.fixture(scope="module")
def train() -> TrainRows:
    """Dark and bright squares with noise, two classes."""
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 64)
    base = np.where(labels[:, None, None, None] == 1, 170, 60)
    images = np.clip(base + rng.normal(0, 25, (64, 32, 32, 3)), 0, 255).astype(np.uint8)
    return TrainRows(images, np.eye(2, dtype=np.float32)[labels])


@pytest.fixture
def config(tiny_config):
    def build(*overrides: str):
        return tiny_config("data.train_augs=[]", "train.batch_size=16", *overrides)

    return build


class Seen:
    """What the network received and returned at its last call (a forward hook)."""

    def __init__(self, model: torch.nn.Module) -> None:
        self.input: torch.Tensor | None = None
        self.output: torch.Tensor | None = None
        model.register_forward_hook(self.hook)

    def hook(self, module, inputs, output) -> None:
        self.input, self.output = inputs[0], output


def step_and_batch(cfg, train: TrainRows, device: torch.device):
    """The engine's step for `cfg` and the first batch `fit` would feed it, on `device`."""
    task = Multiclass(cfg.competition, Path("synthetic"), ["dark", "bright"])
    model = build_model(cfg, task.num_outputs, device, seed=0).train()
    step = build_step(cfg, task, train, model, device)
    loader, _ = build_train_loader(cfg, task, train, 0, device)
    batch = next(iter(device_batches(cfg, loader, device)))
    return step, batch


def weights_of(step: TrainStep) -> list[torch.Tensor]:
    return [p.detach().clone() for p in step.model.parameters()]


def changed(before: list[torch.Tensor], step: TrainStep) -> bool:
    return any(not torch.equal(a, p) for a, p in zip(before, step.model.parameters(), strict=True))


def test_accumulation_micro_steps_update_nothing_and_the_last_one_updates(config, train):
    cfg = config("train.grad_accum=2")
    step, (x, targets, weights) = step_and_batch(cfg, train, torch.device("cpu"))
    before = weights_of(step)
    loss = step(x, targets, weights, sync=False)
    assert not loss.requires_grad and loss.ndim == 0
    assert not changed(before, step) and step.num_updates == 0
    step(x, targets, weights, sync=True)
    assert changed(before, step) and step.num_updates == 1
    assert all(p.grad is None for p in step.model.parameters())  # zeroed, set to None


@pytest.mark.cuda
@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_autocast_runs_the_network_in_half_precision_with_fp32_weights(config, train, precision):
    step, (x, targets, weights) = step_and_batch(
        config(f"train.precision={precision}"), train, CUDA
    )
    seen = Seen(step.model)
    loss = step(x, targets, weights)
    half = torch.bfloat16 if precision == "bf16" else torch.float16
    assert seen.output.dtype == half and seen.input.dtype == torch.float32
    assert torch.isfinite(loss) and loss.device.type == "cuda"
    assert all(p.dtype == torch.float32 and p.is_cuda for p in step.model.parameters())
    assert step.scaler.is_enabled() == (precision == "fp16")  # bf16 needs no loss scaling


@pytest.mark.cuda
def test_fp16_skips_a_step_with_non_finite_gradients_and_lowers_the_scale(config, train):
    step, (x, targets, weights) = step_and_batch(config("train.precision=fp16"), train, CUDA)
    step(x, targets, weights)
    scale = step.scaler.get_scale()
    before = weights_of(step)
    step(torch.full_like(x, float("inf")), targets, weights)  # gradients become inf/nan
    assert not changed(before, step)  # the optimizer step was skipped
    assert step.scaler.get_scale() == scale / 2
    for _ in range(3):  # and training goes on (a first step at the initial scale may overflow)
        step(x, targets, weights)
    assert changed(before, step)


@pytest.mark.cuda
def test_channels_last_reaches_the_network_and_gives_the_same_loss(config, train):
    losses = {}
    for layout in ("true", "false"):
        cfg = config(f"train.channels_last={layout}", "train.precision=fp32")
        step, (x, targets, weights) = step_and_batch(cfg, train, CUDA)
        seen = Seen(step.model)
        losses[layout] = float(step(x, targets, weights))
        convs = [p for p in step.model.parameters() if p.ndim == 4]
        fmt = torch.channels_last if layout == "true" else torch.contiguous_format
        assert convs and all(p.is_contiguous(memory_format=fmt) for p in convs)
        assert seen.input.is_cuda and seen.input.is_contiguous(memory_format=fmt)
    # the same weights and batch in either layout (TF32 convolutions: close, not equal)
    assert losses["true"] == pytest.approx(losses["false"], rel=1e-2)


@pytest.mark.cuda
def test_ema_is_kept_on_the_device_and_follows_the_model(config, train):
    step, (x, targets, weights) = step_and_batch(config("train.ema_decay=0.5"), train, CUDA)
    assert step.ema is not None
    initial = [p.detach().clone() for p in step.ema.module.parameters()]
    for _ in range(3):
        step(x, targets, weights)
    ema = list(step.ema.module.parameters())
    assert all(p.is_cuda for p in ema)
    assert any(not torch.equal(a, b) for a, b in zip(initial, ema, strict=True))  # it moved
    assert any(  # and is an average, not a copy
        not torch.equal(a, b) for a, b in zip(ema, step.model.parameters(), strict=True)
    )


@pytest.mark.cuda
def test_compile_wraps_the_forward_but_not_the_model_the_optimizer_updates(config, train):
    step, (x, targets, weights) = step_and_batch(config("train.compile=true"), train, CUDA)
    assert hasattr(step.forward, "_orig_mod") and step.forward._orig_mod is step.model
    before = weights_of(step)
    assert torch.isfinite(step(x, targets, weights))
    assert changed(before, step)
    assert not any(k.startswith("_orig_mod.") for k in step.model.state_dict())
