"""The model factory: timm models by name with the competition's head, local weights by
path, and pretrained weights through timm's hub path (offline and not cached is a clear error;
tests never reach the network: tests/test_weights.py mocks the hub)."""

from __future__ import annotations

import socket

import huggingface_hub.constants
import pytest
import timm
import torch

from podium.config import ConfigError, ModelConfig
from podium.models import create_model, head_parameters, set_backbone_trainable


def test_builds_a_timm_model_with_the_competitions_head():
    model = create_model(ModelConfig(name="test_convnext"), num_classes=7)
    assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 7)


def test_unknown_timm_model_suggests_close_names():
    with pytest.raises(ConfigError, match=r"model\.name: unknown timm model 'resnet_18'.*resnet18"):
        create_model(ModelConfig(name="resnet_18"), num_classes=2)


def test_local_weights_load_and_the_head_is_resized(tmp_path):
    torch.manual_seed(0)
    source = timm.create_model("test_convnext", num_classes=1000)  # like an ImageNet file
    path = tmp_path / "weights.pth"
    torch.save(source.state_dict(), path)
    model = create_model(ModelConfig(name="test_convnext", weights=str(path)), num_classes=3)
    loaded, saved = model.state_dict(), source.state_dict()
    backbone = [k for k in saved if not k.startswith("head.fc")]
    assert backbone and all(torch.equal(loaded[k], saved[k]) for k in backbone)
    assert loaded["head.fc.weight"].shape == (3, 64)


def test_missing_weights_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match=r"model\.weights: file not found: .*nope\.pth"):
        create_model(ModelConfig(name="test_convnext", weights=str(tmp_path / "nope.pth")), 2)


def test_pretrained_weights_missing_from_the_cache_fail_offline(tmp_path, monkeypatch):
    """HF_HUB_OFFLINE and an empty HF_HOME: the error says how to get the weights, and
    nothing touches the network."""
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    # huggingface_hub read HF_HOME and HF_HUB_OFFLINE at import; set its copies too
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    attempts = []

    def no_network(*args, **kwargs):
        attempts.append(args)
        raise OSError("network used by a test")

    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    with pytest.raises(ConfigError) as err:
        create_model(ModelConfig(name="test_convnext", pretrained=True), num_classes=2)
    message = str(err.value)
    assert "not in the local cache" in message and "'test_convnext'" in message
    assert "model.weights" in message and "podium weights" in message  # the ways out
    assert attempts == []


def test_freezing_the_backbone_keeps_the_head_trainable():
    model = create_model(ModelConfig(name="test_convnext"), num_classes=4)
    head = head_parameters(model)
    assert head == {id(p) for p in model.get_classifier().parameters()}
    set_backbone_trainable(model, False)
    trainable = {id(p) for p in model.parameters() if p.requires_grad}
    assert trainable == head
    set_backbone_trainable(model, True)
    assert all(p.requires_grad for p in model.parameters())
