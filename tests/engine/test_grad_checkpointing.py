"""`model.grad_checkpointing`: timm's activation recomputation changes no number a user
sees (loss and gradients), stays out of the unit's fingerprint, and a model without it is
refused by name."""

from __future__ import annotations

import pytest
import torch

from podium.config import ConfigError, ModelConfig
from podium.models import create_model, set_grad_checkpointing


def loss_and_grads(checkpointing: bool) -> tuple[float, list[torch.Tensor]]:
    torch.manual_seed(0)
    model = create_model(ModelConfig(name="resnet10t", grad_checkpointing=checkpointing), 3)
    model.train()
    x = torch.randn(4, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    loss = torch.nn.functional.cross_entropy(model(x), torch.tensor([0, 1, 2, 0]))
    loss.backward()
    return float(loss.detach()), [p.grad.clone() for p in model.parameters() if p.grad is not None]


def test_checkpointing_changes_no_number():
    plain, plain_grads = loss_and_grads(False)
    checkpointed, grads = loss_and_grads(True)
    assert checkpointed == pytest.approx(plain, rel=1e-6)
    assert len(grads) == len(plain_grads)
    for a, b in zip(plain_grads, grads, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


def test_checkpointing_is_on_in_the_model():
    model = create_model(ModelConfig(name="resnet10t", grad_checkpointing=True), 3)
    assert model.grad_checkpointing is True


def test_a_model_without_it_is_refused():
    with pytest.raises(ConfigError, match="model.grad_checkpointing: timm.s cspresnet50 does not"):
        create_model(ModelConfig(name="cspresnet50", grad_checkpointing=True), 3)
    with pytest.raises(ConfigError, match="no set_grad_checkpointing"):
        set_grad_checkpointing(torch.nn.Linear(2, 2), "linear")


def test_it_does_not_change_the_units_fingerprint(tiny_config):
    from podium.units.stamps import training_config

    plain = training_config(tiny_config())
    assert training_config(tiny_config("model.grad_checkpointing=true")) == plain
