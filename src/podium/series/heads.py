"""Sequence heads: per-slice features (B, S, F) -> a study's logits (B, outputs), by name
(`model.sequence_head`), one function to build any of them (`build_sequence_head`).

    mean       the average slice: a finding in few slices is diluted by the rest
    max        each feature's strongest slice: a finding anywhere counts, order ignored
    attention  a learnt weight per slice (softmax over the slices, gated attention MIL,
               Ilse et al. 2018): the slices that carry the finding dominate
    gru        a bidirectional GRU over the slices, then mean and max over its outputs: the
               slices' order and neighbourhood count (RSNA 2019's second stage)

Every head takes any number of slices, so training on `data.slices.sample` random slices and
predicting on all of them is one network.
"""

from __future__ import annotations

import torch
from torch import nn

HEADS = ("mean", "max", "attention", "gru")


class PoolHead(nn.Module):
    """mean or max over the slices, then one linear layer."""

    def __init__(self, features: int, outputs: int, how: str) -> None:
        super().__init__()
        self.how = how
        self.fc = nn.Linear(features, outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = x.mean(dim=1) if self.how == "mean" else x.amax(dim=1)
        out: torch.Tensor = self.fc(pooled)
        return out


class AttentionHead(nn.Module):
    """Gated attention pooling: weight_s = softmax_s(w . (tanh(V f_s) * sigmoid(U f_s)))."""

    def __init__(self, features: int, outputs: int, hidden: int = 128) -> None:
        super().__init__()
        self.value = nn.Linear(features, hidden)
        self.gate = nn.Linear(features, hidden)
        self.score = nn.Linear(hidden, 1)
        self.fc = nn.Linear(features, outputs)

    def weights(self, x: torch.Tensor) -> torch.Tensor:
        """(B, S, F) -> (B, S): each slice's share of the study's features."""
        h = torch.tanh(self.value(x)) * torch.sigmoid(self.gate(x))
        return torch.softmax(self.score(h).squeeze(-1), dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = (self.weights(x).unsqueeze(-1) * x).sum(dim=1)
        out: torch.Tensor = self.fc(pooled)
        return out


class GruHead(nn.Module):
    """A bidirectional GRU over the slices; mean and max of its outputs; one linear layer."""

    def __init__(self, features: int, outputs: int, hidden: int = 128) -> None:
        super().__init__()
        self.gru = nn.GRU(features, hidden, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(4 * hidden, outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        seq, _ = self.gru(x)
        out: torch.Tensor = self.fc(torch.cat([seq.mean(dim=1), seq.amax(dim=1)], dim=1))
        return out


def build_sequence_head(name: str, features: int, outputs: int) -> nn.Module:
    """The head `name` (one of HEADS) from `features` per slice to `outputs` logits."""
    if name in ("mean", "max"):
        return PoolHead(features, outputs, name)
    if name == "attention":
        return AttentionHead(features, outputs)
    if name == "gru":
        return GruHead(features, outputs)
    raise ValueError(f"unknown sequence head {name!r}; known: {', '.join(HEADS)}")
