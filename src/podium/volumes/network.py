"""MONAI's 3-D classification networks by name (`model.arch: monai:<network>`) and the module
around them that the engine trains and predicts with (`VolumeNet`).

To the engine a VolumeNet looks like any podium model: it takes the normalised batch
(B, D, H, W) (a volume's slices are the cache's channels, `podium.data.volumes`) and returns
logits (B, K); `get_classifier()` is the MONAI network's last linear layer (head learning rate,
frozen-backbone warmup). Inside:
- training: each volume gets a random `data.volume_size` crop of its cached volume and random
  flips (`podium.volumes.crop`);
- prediction: a volume of exactly `data.volume_size` goes through the network once; a larger
  one (`data.volume_cache_size`) through MONAI's `sliding_window_inference`, windows of
  `data.volume_size` overlapping by a quarter. Each window's logits are spread over its voxels,
  MONAI averages the windows covering each voxel, and the study's logits are the mean over its
  voxels: every voxel weighs the same, whatever the number of windows covering it.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from podium.config.volumes import MONAI_PREFIX
from podium.errors import ConfigError
from podium.volumes.crop import random_crop, random_flips

OVERLAP = 0.25  # sliding windows overlap by this share of the window
WINDOW_BATCH = 4  # windows per forward pass


@dataclass(frozen=True)
class MonaiNet:
    """How to build one MONAI network: its constructor, the names it gives the input channels
    and the outputs, and the attribute holding its classifier."""

    build: Callable[..., nn.Module]
    channels: str
    outputs: str
    head: str


def _nets() -> dict[str, MonaiNet]:
    from monai.networks import nets  # local for import cost: only volumes need MONAI

    def resnet(fn: Callable[..., nn.Module]) -> MonaiNet:
        return MonaiNet(fn, "n_input_channels", "num_classes", "fc")

    def efficientnet(name: str) -> MonaiNet:
        return MonaiNet(
            lambda **kw: nets.EfficientNetBN(name, pretrained=False, **kw),
            "in_channels",
            "num_classes",
            "_fc",
        )

    return {
        "resnet10": resnet(nets.resnet10),
        "resnet18": resnet(nets.resnet18),
        "resnet34": resnet(nets.resnet34),
        "resnet50": resnet(nets.resnet50),
        "densenet121": MonaiNet(nets.DenseNet121, "in_channels", "out_channels", "class_layers"),
        "seresnet50": MonaiNet(nets.SEResNet50, "in_channels", "num_classes", "last_linear"),
        "efficientnet-b0": efficientnet("efficientnet-b0"),
    }


NETWORKS = (
    "resnet10",
    "resnet18",
    "resnet34",
    "resnet50",
    "densenet121",
    "seresnet50",
    "efficientnet-b0",
)


def create_volume_network(
    arch: str, num_outputs: int, kwargs: dict[str, Any] | None = None
) -> tuple[nn.Module, str]:
    """The MONAI network `arch` ('monai:resnet10', case-insensitive) for one input channel and
    `num_outputs` logits, 3-D, with `kwargs` (`model.kwargs`); and its classifier's attribute."""
    name = arch[len(MONAI_PREFIX) :].lower()
    nets = _nets()
    if name not in nets:
        close = difflib.get_close_matches(name, NETWORKS, n=1)
        hint = f"; did you mean monai:{close[0]}?" if close else ""
        raise ConfigError(
            f"model.arch: unknown MONAI network {arch!r}{hint} (known: "
            f"{', '.join(MONAI_PREFIX + n for n in NETWORKS)})"
        )
    spec = nets[name]
    args = {"spatial_dims": 3, spec.channels: 1, spec.outputs: num_outputs, **(kwargs or {})}
    try:
        return spec.build(**args), spec.head
    except TypeError as e:
        raise ConfigError(f"model.kwargs: MONAI's {name} does not accept {kwargs} ({e})") from None


class VolumeNet(nn.Module):
    """A MONAI 3-D network on (B, D, H, W) batches (see the module docstring)."""

    def __init__(
        self, net: nn.Module, head: str, roi: Sequence[int], flips: Sequence[str] = ()
    ) -> None:
        super().__init__()
        self.net = net
        self.head_name = head
        self.roi = tuple(int(r) for r in roi)
        self.flips = tuple(flips)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        v = x.unsqueeze(1).contiguous()  # one channel: (B, 1, D, H, W)
        if self.training:
            out: torch.Tensor = self.net(random_flips(random_crop(v, self.roi), self.flips))
            return out
        if tuple(v.shape[-3:]) == self.roi:
            out = self.net(v)
            return out
        return self._sliding(v)

    def _sliding(self, v: torch.Tensor) -> torch.Tensor:
        from monai.inferers import sliding_window_inference  # local for import cost

        def window_logits(window: torch.Tensor) -> torch.Tensor:
            logits: torch.Tensor = self.net(window)
            # spread over the window's voxels (contiguous: MONAI writes into it in place)
            return logits[:, :, None, None, None].expand(-1, -1, *window.shape[2:]).contiguous()

        dense = sliding_window_inference(
            v, self.roi, WINDOW_BATCH, window_logits, overlap=OVERLAP, mode="constant"
        )
        return torch.as_tensor(dense).mean(dim=(2, 3, 4))

    def get_classifier(self) -> nn.Module:
        head: nn.Module = getattr(self.net, self.head_name)
        return head
