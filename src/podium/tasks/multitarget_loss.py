"""The training loss of a multitarget task: the sum over targets of each target's weighted
cross-entropy on its own block of logits (a softmax per target), the target's class weights
acting as sample weights, so that training optimises the weighted multi-target log-loss
(`podium.metrics.multitarget`) term by term:

    loss = sum_t  sum_i w_i cw_it l_it / sum_i cw_it,   cw_it = sum_c t_itc weight_tc

per target `SoftTargetLoss` (`podium.tasks.losses`: soft targets, mixup, focal, label
smoothing). A row whose label of target t is missing has an all-zero block, so cw_it = 0:
it adds nothing to target t's term and does not count in its denominator (the mask). A batch
without a labelled row of a target adds 0 for it.
"""

from __future__ import annotations

import torch

from podium.config import TrainConfig
from podium.tasks.losses import SoftTargetLoss
from podium.tasks.multitarget_schema import Target


class MultitargetLoss(torch.nn.Module):
    """loss(logits (N, sum K), targets (N, sum K) one-hot blocks, row weights (N,) or None)."""

    def __init__(self, targets: list[Target], gamma: float, label_smoothing: float) -> None:
        super().__init__()
        self.blocks = [t.block for t in targets]
        self.heads = torch.nn.ModuleList(
            SoftTargetLoss(gamma, label_smoothing, torch.tensor(t.weights, dtype=torch.float32))
            for t in targets
        )

    def forward(
        self, logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None
    ) -> torch.Tensor:
        total = logits.new_zeros((), dtype=torch.float32)
        for block, head in zip(self.blocks, self.heads, strict=True):
            total = total + head(logits[:, block], target[:, block], weight)
        return total


def build_multitarget_loss(train: TrainConfig, targets: list[Target]) -> MultitargetLoss:
    gamma = train.focal_gamma if train.loss == "focal" else 0.0
    return MultitargetLoss(targets, gamma, train.label_smoothing)
