"""The MONAI networks by name and the VolumeNet around them: (B, D, H, W) in, logits out; the
crop-sized prediction path; sliding windows over a larger volume averaging window logits; the
classifier exposed for the head's learning rate."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from podium.errors import ConfigError
from podium.models import head_parameters
from podium.volumes.network import NETWORKS, VolumeNet, create_volume_network


@pytest.mark.parametrize(
    ("arch", "size"),
    [("monai:resnet10", 8), ("monai:DenseNet121", 32), ("monai:SEResNet50", 16)],
)
def test_a_named_monai_network_maps_volumes_to_logits(arch, size):
    net, head = create_volume_network(arch, 3)
    model = VolumeNet(net, head, (size, 16, 16) if size < 32 else (32, 32, 32)).eval()
    with torch.no_grad():
        out = model(torch.randn(2, *model.roi))
    assert out.shape == (2, 3)
    classifier = {id(p) for p in model.get_classifier().parameters()}
    assert classifier and head_parameters(model) == classifier


def test_an_unknown_network_is_a_config_error_with_a_suggestion():
    with pytest.raises(ConfigError, match=r"did you mean monai:resnet10\?"):
        create_volume_network("monai:resnett10", 2)
    assert "densenet121" in NETWORKS


class MeanNet(nn.Module):
    """Logits = the window's mean and its max: a window-dependent output to average."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([x.mean(dim=(1, 2, 3, 4)), x.amax(dim=(1, 2, 3, 4))], dim=1)


def test_a_crop_sized_volume_goes_through_once():
    model = VolumeNet(MeanNet(), "forward", (4, 6, 6)).eval()
    x = torch.randn(3, 4, 6, 6)
    torch.testing.assert_close(model(x), MeanNet()(x.unsqueeze(1)))


def test_a_larger_volume_averages_the_sliding_windows_logits():
    model = VolumeNet(MeanNet(), "forward", (4, 6, 6)).eval()
    constant = torch.full((2, 8, 12, 12), 3.0)
    torch.testing.assert_close(model(constant), torch.full((2, 2), 3.0))
    ramp = torch.arange(8, dtype=torch.float32).view(1, 8, 1, 1).expand(1, 8, 12, 12)
    out = model(ramp)
    # every window's mean lies in [1.5, 5.5] (4 consecutive slices of 0..7); their average too
    assert 1.5 <= float(out[0, 0]) <= 5.5 and abs(float(out[0, 0]) - 3.5) < 0.5
    assert 3 <= float(out[0, 1]) <= 7  # the windows' max: 3 (first) .. 7 (last)


def test_training_crops_to_the_network_size():
    seen = []

    class Shape(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            seen.append(tuple(x.shape))
            return x.mean(dim=(2, 3, 4))

    model = VolumeNet(Shape(), "forward", (4, 6, 6), flips=("z", "y", "x")).train()
    model(torch.randn(2, 8, 12, 12))
    assert seen == [(2, 1, 4, 6, 6)]
