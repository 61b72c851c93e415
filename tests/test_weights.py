"""Pretrained weights through timm's hub path, with the hub mocked (tests never download):
`model.pretrained: true` loads what the hub serves when online, and `podium weights` fetches
every file a config and its members need into the cache or into a folder that
`model.weights` can name on an offline machine."""

from __future__ import annotations

from pathlib import Path

import huggingface_hub.constants
import pytest
import timm
import torch
import yaml
from huggingface_hub.errors import EntryNotFoundError
from timm.models import _builder, _hub

from podium import pipeline
from podium.config import ConfigError, ModelConfig
from podium.models import create_model

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """A fake Hugging Face hub serving one `pytorch_model.bin` per repository (made from a
    seeded test_convnext); records what was asked for."""
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    torch.manual_seed(1)
    served = timm.create_model("test_convnext", num_classes=1000).state_dict()
    file = tmp_path / "served" / "pytorch_model.bin"
    file.parent.mkdir()
    torch.save(served, file)
    asked = []

    def download(repo_id, filename, revision=None, **kwargs):
        asked.append((repo_id, filename))
        if filename != "pytorch_model.bin":
            raise EntryNotFoundError(f"{repo_id} has no {filename}")
        return str(file)

    monkeypatch.setattr(_hub, "hf_hub_download", download)
    return served, asked


def _backbone_equal(model: torch.nn.Module, served: dict) -> bool:
    loaded = model.state_dict()
    keys = [k for k in served if not k.startswith("head.fc")]
    return bool(keys) and all(torch.equal(loaded[k], served[k]) for k in keys)


def test_pretrained_true_loads_through_the_hub_when_online(hub):
    """timm's own hub path (safetensors first, then the .bin), served by the fake hub."""
    served, asked = hub
    model = create_model(ModelConfig(name="test_convnext", pretrained=True), num_classes=3)
    assert _backbone_equal(model, served)
    assert asked[-1] == ("timm/test_convnext.r160_in1k", "pytorch_model.bin")


def test_a_failed_download_is_a_config_error_with_the_ways_out(monkeypatch):
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)

    def unreachable(*args, **kwargs):
        raise OSError("host unreachable")

    monkeypatch.setattr(_builder, "load_state_dict_from_hf", unreachable)
    with pytest.raises(
        ConfigError,
        match=r"could not download the weights of 'test_convnext' "
        r"\(OSError: host unreachable\).*podium weights.*model.weights",
    ):
        create_model(ModelConfig(name="test_convnext", pretrained=True), num_classes=3)


def test_podium_weights_fetches_every_members_file_into_a_folder(hub, tmp_path, demo_data_root):
    served, asked = hub
    base = yaml.safe_load((ROOT / "configs/digits/base.yaml").read_text())
    base["paths"] = {"data": str(demo_data_root), "runs": str(tmp_path / "runs")}
    configs = tmp_path / "configs"
    configs.mkdir()
    (configs / "base.yaml").write_text(yaml.safe_dump(base))
    member = {"extends": "base.yaml", "model": {"name": "test_convnext", "pretrained": True}}
    (configs / "a.yaml").write_text(yaml.safe_dump(member))
    (configs / "svc.yaml").write_text(
        yaml.safe_dump({"extends": "base.yaml", "tabular": {"model": "svc"}})
    )
    ens = {"extends": "base.yaml", "name": "stack", "ensemble": {"members": ["a.yaml", "svc.yaml"]}}
    (configs / "ens.yaml").write_text(yaml.safe_dump(ens))
    out = tmp_path / "weights"
    files = pipeline.run("weights", pipeline.Request(config=configs / "ens.yaml"), out=out)
    assert files == {"test_convnext": out / "test_convnext.bin"}
    # safetensors first, as timm asks, then the .bin the repository has
    assert [f for _, f in asked] == ["model.safetensors", "pytorch_model.bin"]
    # the folder is what an offline machine uses: model.weights names the file
    model = create_model(ModelConfig(name="test_convnext", weights=str(files["test_convnext"])), 4)
    assert _backbone_equal(model, served)


def test_podium_weights_says_when_nothing_is_pretrained(tiny_config, tmp_path, capsys):
    from podium.stages import weights

    assert weights.run([tiny_config()], tmp_path) == {}
    assert "no config here asks for pretrained weights" in capsys.readouterr().out
