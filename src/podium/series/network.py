"""The 2.5D network: a study's slices (B, depth, H, W) -> windows of 2k+1 neighbouring slices
as channels -> a 2-D encoder on each window -> per-slice features (B, S, F) -> a sequence
head (podium.series.heads) -> the study's logits.

Why windows: a finding a few slices thick is faint in one slice and clear across its
neighbours; giving the encoder k slices on each side (`data.slices.context`) lets its first
convolution see through the slice axis, the winners' 2.5D recipe (RSNA 2019-2025). Edge
slices repeat the first and last slice as neighbours. With `channels` per slice (several
DICOM windows, `data.windows`), the batch is (B, depth * channels, H, W), slice s's channels
adjacent, and each window goes to the encoder as (2k+1) * channels channels, slice by slice.

Positions: in training, `sample` random slice positions per batch (the encoder's cost is
per position; every study of the batch shares them), in order; otherwise every `stride`-th.
The draw uses torch's generator, which the unit's seed sets.

To the engine it looks like a timm model: `get_classifier()` is the sequence head (it trains
at the head's learning rate and stays trainable when the backbone is frozen) and
`group_matcher()` is the encoder's, so gradual unfreezing works unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from podium.series.heads import build_sequence_head

ENCODER = "encoder."


class SliceStackNet(nn.Module):
    """(B, depth * channels, H, W) normalised slices -> (B, outputs) logits; see the module
    docstring. `encoder` maps (N, (2k+1) * channels, H, W) to (N, F) features (a timm model
    with num_classes=0)."""

    def __init__(
        self,
        encoder: nn.Module,
        outputs: int,
        context: int,
        head: str,
        sample: int | None = None,
        stride: int = 1,
        channels: int = 1,
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.context, self.sample, self.stride = context, sample, stride
        self.channels = channels
        features = int(getattr(encoder, "num_features", 0))
        if features < 1:
            raise ValueError("the slice encoder must say its num_features (a timm model)")
        self.head = build_sequence_head(head, features, outputs)

    def positions(self, depth: int, device: torch.device) -> torch.Tensor:
        """The slice positions the encoder sees in this pass (see the module docstring)."""
        if self.training and self.sample is not None and self.sample < depth:
            picked = torch.randperm(depth)[: self.sample].sort().values
            return picked.to(device)
        return torch.arange(0, depth, self.stride, device=device)

    def windows(self, x: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        """(B, depth * c, H, W) -> (B, S, (2k+1) * c, H, W): each position with its k
        neighbours, each slice's c channels together (c = 1: (B, S, 2k+1, H, W))."""
        k, c = self.context, self.channels
        b, _, h, w = x.shape
        v = x.view(b, -1, c, h, w)
        padded = torch.cat(
            [v[:, :1].expand(-1, k, -1, -1, -1), v, v[:, -1:].expand(-1, k, -1, -1, -1)], 1
        )
        index = positions[:, None] + torch.arange(2 * k + 1, device=x.device)[None]
        return padded[:, index].flatten(2, 3)

    def slice_features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, depth * c, H, W) -> (B, S, F), S the positions of this pass."""
        b = x.shape[0]
        win = self.windows(x, self.positions(x.shape[1] // self.channels, x.device))
        s = win.shape[1]
        feats: torch.Tensor = self.encoder(win.flatten(0, 1).contiguous())
        return feats.view(b, s, -1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.head(self.slice_features(x))
        return out

    def get_classifier(self) -> nn.Module:
        return self.head

    def group_matcher(self, coarse: bool = False) -> Callable[[str], float]:
        """The encoder's stage groups (timm's), its parameter names prefixed; the head last."""
        from timm.models import group_parameters

        matcher = getattr(self.encoder, "group_matcher", None)
        order: dict[str, int] = {}
        if callable(matcher):
            groups = group_parameters(self.encoder, matcher(coarse=coarse))
            order = {name: g for g, names in groups.items() for name in names}

        def ordinal(name: str) -> float:
            inner = name.removeprefix(ENCODER)
            return float(order.get(inner, 0 if not order else float("inf")))

        return ordinal

    def set_grad_checkpointing(self, enable: bool = True) -> Any:
        return self.encoder.set_grad_checkpointing(enable)  # type: ignore[operator]
