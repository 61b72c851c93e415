"""The training recipes' sections (`train.swa`, `train.unfreeze`, `train.stages`,
`train.distill`). How they agree with each other and with the run's length is `TrainConfig`'s
check (`podium.config.training`). See engine/swa.py, engine/freezing.py, engine/averaging.py,
engine/progressive.py, engine/distill.py."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator

from podium.config.section import Section


class SwaConfig(Section):
    """Stochastic weight averaging (`train.swa`): from epoch `start_epoch` (1-based) the LR
    anneals (cosine, over `anneal_epochs` epochs) to `lr` and holds there, and the weights at
    the end of every epoch from `start_epoch` on are averaged (torch.optim.swa_utils)."""

    start_epoch: int = Field(ge=1)
    lr: float = Field(gt=0)  # the head's; the backbone's keeps `backbone_lr_mult`
    anneal_epochs: int = Field(1, ge=0)


class UnfreezeConfig(Section):
    """Gradual unfreezing (`train.unfreeze`): the backbone starts frozen (the head trains);
    at each 1-based epoch of `epochs` the next chunk of timm's stage groups unfreezes, from
    the top down, so that after the last one the whole network trains."""

    epochs: list[int] = Field(min_length=1)

    @field_validator("epochs")
    @classmethod
    def _increasing(cls, v: list[int]) -> list[int]:
        if any(e < 1 for e in v) or any(b <= a for a, b in zip(v, v[1:], strict=False)):
            raise ValueError(f"epochs must be strictly increasing epoch numbers from 1, got {v}")
        return v


class StageConfig(Section):
    """One stage of progressive resizing (`train.stages`): `epochs` at `image_size` (h = w, or
    [h, w]; the last stage's defaults to, and must equal, `data.image_size`, the size
    validation and inference use). A stage with `lr` restarts the schedule (warmup, then
    decay over the stages up to the next restart) at that peak LR; without, the schedule
    runs on."""

    epochs: int = Field(ge=1)
    image_size: tuple[int, int] | None = None
    lr: float | None = Field(None, gt=0)

    @field_validator("image_size", mode="before")
    @classmethod
    def _square(cls, v: object) -> object:
        return (v, v) if isinstance(v, int) else v


class DistillConfig(Section):
    """Knowledge distillation (`train.distill`): the student's loss is
    `(1 - alpha) * loss(labels) + alpha * T^2 * loss(teacher at temperature T)` on its training
    rows, the teacher (an experiment or an ensemble of CNN experiments) predicting them with
    its models of the student's fold, so the validation fold stays unseen by both."""

    teacher: str  # a config path, relative to the student's config
    alpha: float = Field(0.5, ge=0, le=1)
    temperature: float = Field(2.0, gt=0)

    def teacher_path(self, source: str | None) -> Path:
        """The teacher's config file, relative to the student's own file."""
        return (Path(source).parent if source else Path(".")) / self.teacher
