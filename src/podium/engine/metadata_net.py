"""The image + metadata network: a timm backbone's pooled (pre-logits) features joined with a
small MLP over the competition's metadata before one linear head.

    x (N, C, H, W) --timm backbone, num_classes=0--> pooled features (N, F) --+
    metadata (N, M) --standardise, impute, embed--> MLP --> (N, hidden) -------+--> Linear --> logits

What the MLP sees, per numeric column: the standardised value (the fold's training mean and
standard deviation; a missing value becomes the mean, i.e. 0) and a missing-indicator; per
categorical column: an embedding of its code, where a category the fold's training rows never
had (or an empty cell) falls into the unknown bucket 0. The statistics are buffers of the
module, so they travel inside every checkpoint (best, last, EMA, SWA, snapshots) and a
predicting process needs only the raw metadata matrix (podium.data.metadata).

To the rest of the engine it looks like a timm model: `get_classifier()` is the part that
always trains at the head's learning rate (embeddings, MLP, head) and `group_matcher()` is the
backbone's, so discriminative LRs, the frozen-backbone warmup and gradual unfreezing apply
to the backbone alone.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from timm.models import group_parameters
from torch import nn

from podium.config import Config
from podium.data.metadata import MetadataLayout, MetadataStats

BACKBONE = "backbone."


class MetadataNet(nn.Module):
    """`forward(images, metadata)`: logits from both; `metadata` is the raw matrix."""

    def __init__(
        self, backbone: nn.Module, layout: MetadataLayout, num_outputs: int, cfg: Config
    ) -> None:
        super().__init__()
        mc = cfg.model.metadata
        self.backbone = backbone
        self.n_numeric = len(layout.numeric)
        self.mean: torch.Tensor
        self.std: torch.Tensor
        self.register_buffer("mean", torch.zeros(self.n_numeric))
        self.register_buffer("std", torch.ones(self.n_numeric))
        for j, k in enumerate(layout.cardinalities):
            self.register_buffer(f"seen{j}", torch.ones(k, dtype=torch.bool))
        self.cardinalities = list(layout.cardinalities)
        dims = [min(mc.embed_dim, k) for k in self.cardinalities]
        self.embeddings = nn.ModuleList(
            nn.Embedding(k, d) for k, d in zip(self.cardinalities, dims, strict=True)
        )
        width = 2 * self.n_numeric + sum(dims)
        self.mlp = nn.Sequential(
            nn.Linear(width, mc.hidden),
            nn.ReLU(),
            nn.Dropout(mc.dropout),
            nn.Linear(mc.hidden, mc.hidden),
            nn.ReLU(),
        )
        features = int(getattr(backbone, "num_features"))  # noqa: B009 (timm attribute)
        self.head = nn.Linear(features + mc.hidden, num_outputs)

    def set_stats(self, stats: MetadataStats) -> None:
        """The fold's standardisation and seen categories (before EMA/SWA copy the module)."""
        with torch.no_grad():
            self.mean.copy_(torch.as_tensor(stats.mean))
            self.std.copy_(torch.as_tensor(stats.std))
            for j, seen in enumerate(stats.seen):
                self._seen(j).copy_(torch.as_tensor(seen))

    def _seen(self, j: int) -> torch.Tensor:
        seen = getattr(self, f"seen{j}")
        assert isinstance(seen, torch.Tensor)  # a registered buffer
        return seen

    def encode(self, metadata: torch.Tensor) -> torch.Tensor:
        """(N, M) raw -> (N, width): standardised numerics, missing flags, embeddings."""
        metadata = metadata.float()
        numeric = metadata[:, : self.n_numeric]
        missing = torch.isnan(numeric)
        z = torch.where(missing, torch.zeros_like(numeric), (numeric - self.mean) / self.std)
        parts = [z, missing.float()]
        for j, (embedding, k) in enumerate(zip(self.embeddings, self.cardinalities, strict=True)):
            codes = metadata[:, self.n_numeric + j].long().clamp(0, k - 1)
            seen = self._seen(j)[codes]
            parts.append(embedding(torch.where(seen, codes, torch.zeros_like(codes))))
        return torch.cat(parts, dim=1)

    def forward(self, x: torch.Tensor, metadata: torch.Tensor | None = None) -> torch.Tensor:
        if metadata is None:
            raise ValueError(
                "this network takes metadata (competition.metadata, model.metadata.use) and "
                "was given images only"
            )
        features = self.backbone(x)  # pooled, pre-logits: timm with num_classes=0
        logits: torch.Tensor = self.head(
            torch.cat([features, self.mlp(self.encode(metadata))], dim=1)
        )
        return logits

    def get_classifier(self) -> nn.Module:
        """What always trains at the head's LR: the metadata path and the head (a view, not a
        registered module, so the state dict keeps one name per tensor)."""
        return nn.ModuleList([self.embeddings, self.mlp, self.head])

    def group_matcher(self, coarse: bool = False) -> Callable[[str], float]:
        """The backbone's stage groups (timm's), its parameter names prefixed; the rest last."""
        matcher = getattr(self.backbone, "group_matcher", None)
        order: dict[str, int] = {}
        if callable(matcher):
            groups = group_parameters(self.backbone, matcher(coarse=coarse))
            order = {name: g for g, names in groups.items() for name in names}

        def ordinal(name: str) -> float:
            inner = name.removeprefix(BACKBONE)
            return float(order.get(inner, 0 if not order else float("inf")))

        return ordinal
