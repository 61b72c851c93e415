"""Knowledge distillation's loss (`train.distill`): the labels' loss and the teacher's, mixed.

    loss = (1 - alpha) * loss(logits, labels) + alpha * kd(logits, teacher)

`kd` is the task's (`Task.distill.loss`: T^2 x cross-entropy at temperature T against the
teacher's softened probabilities for classification, squared error against the teacher's
values for regression).
The teacher's soft targets ride in the batch beside the labels (the targets' last `width`
columns), so mixup/cutmix mix them with the same pairs and lambdas as the labels.
"""

from __future__ import annotations

import torch

from podium.config import TrainConfig
from podium.engine.rows import TrainRows
from podium.tasks import Task
from podium.tasks.capabilities import Distillation


class DistillLoss(torch.nn.Module):
    def __init__(
        self, distill: Distillation, base: torch.nn.Module, width: int, alpha: float, t: float
    ):
        super().__init__()
        self.distill, self.base, self.width, self.alpha, self.t = distill, base, width, alpha, t

    def forward(
        self, logits: torch.Tensor, targets: torch.Tensor, weight: torch.Tensor | None = None
    ) -> torch.Tensor:
        labels, teacher = targets[:, : self.width], targets[:, self.width :]
        hard: torch.Tensor = self.base(logits, labels, weight)
        per_row = self.distill.loss(logits, teacher, self.t)
        w = torch.ones_like(per_row) if weight is None else weight.float()
        soft = (w * per_row).sum() / w.sum().clamp_min(1e-12)
        return (1 - self.alpha) * hard + self.alpha * soft


def distilled(
    task: Task, tc: TrainConfig, base: torch.nn.Module, rows: TrainRows
) -> torch.nn.Module:
    """`base` itself when the rows carry no teacher; the mixed loss when they do."""
    if rows.teacher is None:
        return base
    if tc.distill is None or task.distill is None:
        raise ValueError("training rows carry a teacher's targets but nothing distils them")
    return DistillLoss(
        task.distill, base, rows.targets.shape[1], tc.distill.alpha, tc.distill.temperature
    )
