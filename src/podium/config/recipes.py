"""The training recipes' config (`train.swa`, `train.unfreeze`, `train.stages`,
`train.distill`) and the checks that keep the recipe keys consistent with each other and with
the run's length (`check_recipes`, run by `TrainConfig`'s validator). See engine/swa.py,
engine/freezing.py, engine/averaging.py, engine/progressive.py, engine/distill.py."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

if TYPE_CHECKING:
    from podium.config.training import TrainConfig


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)  # as schema.Section


class SwaConfig(_Section):
    """Stochastic weight averaging (`train.swa`): from epoch `start_epoch` (1-based) the LR
    anneals (cosine, over `anneal_epochs` epochs) to `lr` and holds there, and the weights at
    the end of every epoch from `start_epoch` on are averaged (torch.optim.swa_utils)."""

    start_epoch: int = Field(ge=1)
    lr: float = Field(gt=0)  # the head's; the backbone's keeps `backbone_lr_mult`
    anneal_epochs: int = Field(1, ge=0)


class UnfreezeConfig(_Section):
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


class StageConfig(_Section):
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
        v = (v, v) if isinstance(v, int) else v
        if isinstance(v, (list, tuple)) and any(isinstance(x, int) and x < 1 for x in v):
            raise ValueError(f"image_size must be at least 1 pixel a side, got {list(v)}")
        return v


class DistillConfig(_Section):
    """Knowledge distillation (`train.distill`): the student's loss is
    `(1 - alpha) * loss(labels) + alpha * T^2 * loss(teacher at temperature T)` on its training
    rows, the teacher (an experiment or an ensemble of CNN experiments) predicting them with
    its models of the student's fold, so the validation fold stays unseen by both."""

    teacher: str  # a config path, relative to the student's config
    alpha: float = Field(0.5, ge=0, le=1)
    temperature: float = Field(2.0, gt=0)
    # the teacher's weights: its fixed-schedule checkpoint (last / swa / snapshots) unless
    # `best`, which leaks fold k's labels into fold k's student (podium.units.teacher_weights)
    teacher_checkpoint: Literal["last", "swa", "snapshots", "best"] | None = None

    def teacher_path(self, source: str | None) -> Path:
        """The teacher's config file, relative to the student's own file."""
        return (Path(source).parent if source else Path(".")) / self.teacher


def check_stages(t: TrainConfig) -> None:
    """`train.stages` cover the run exactly (`train.epochs` is their sum when not given) and
    leave the schedule to the stages."""
    if not t.stages:
        return
    total = sum(s.epochs for s in t.stages)
    if "epochs" not in t.model_fields_set:
        t.__dict__["epochs"] = total  # bypasses validate_assignment (no re-validation loop)
    elif t.epochs != total:
        raise ValueError(f"train.epochs={t.epochs} differs from the stages' sum ({total})")
    if t.scheduler == "onecycle" or t.cycles > 1:
        raise ValueError(
            "train.stages restart or continue the schedule themselves: use scheduler cosine, "
            "flat_cosine, step or none, without train.cycles"
        )


def check_stage_sizes(
    t: TrainConfig, image_size: tuple[int, int], cache_size: tuple[int, int] | None
) -> None:
    """The last stage trains at the size validation and inference use; no stage asks for
    more pixels than the decode cache holds."""
    if not t.stages:
        return
    last = t.stages[-1].image_size
    if last is not None and tuple(last) != tuple(image_size):
        raise ValueError(
            f"train.stages[-1].image_size {list(last)} must be data.image_size "
            f"{list(image_size)}: validation and inference run at data.image_size"
        )
    cache = cache_size or image_size
    for i, stage in enumerate(t.stages):
        size = stage.image_size or image_size
        if size[0] > cache[0] or size[1] > cache[1]:
            raise ValueError(
                f"train.stages[{i}].image_size {list(size)} is larger than the decode cache "
                f"{list(cache)}: set data.cache_size to the largest stage size"
            )


def check_recipes(t: TrainConfig) -> None:
    """A ValueError (a ConfigError naming the key, once pydantic reports it) for recipe keys
    that contradict each other or the run's length."""
    if t.cycles > 1 and t.scheduler != "cosine":
        raise ValueError(f"train.cycles needs scheduler: cosine, not {t.scheduler!r}")
    if t.cycles > 1 and t.epochs % t.cycles:
        raise ValueError(
            f"train.cycles={t.cycles} must divide train.epochs={t.epochs} (each cycle "
            "ends on an epoch, where its snapshot is saved)"
        )
    if t.snapshots and t.cycles < 2:
        raise ValueError("train.snapshots needs train.cycles >= 2 (one snapshot per cycle)")
    if t.checkpoint == "snapshots" and not t.snapshots:
        raise ValueError("train.checkpoint: snapshots needs train.snapshots: true")
    if t.checkpoint == "swa" and t.swa is None:
        raise ValueError("train.checkpoint: swa needs a train.swa section")
    if t.swa is not None:
        if t.swa.start_epoch > t.epochs:
            raise ValueError(
                f"train.swa.start_epoch={t.swa.start_epoch} is after the last epoch ({t.epochs})"
            )
        if t.cycles > 1 or t.scheduler == "onecycle":
            raise ValueError(
                "train.swa sets the LR of its epochs itself: use it with scheduler cosine, "
                "flat_cosine, step or none, without train.cycles"
            )
    if t.unfreeze is not None:
        if t.freeze_backbone_epochs:
            raise ValueError("use train.unfreeze or train.freeze_backbone_epochs, not both")
        if t.unfreeze.epochs[-1] > t.epochs:
            raise ValueError(
                f"train.unfreeze.epochs {t.unfreeze.epochs} go past the last epoch ({t.epochs})"
            )
    if (t.swa is not None or t.snapshots) and t.early_stopping_patience is not None:
        raise ValueError(
            "train.swa and train.snapshots run to the last epoch: drop "
            "train.early_stopping_patience"
        )
    check_stages(t)
    if t.freeze_bn_affine and not t.freeze_bn:
        raise ValueError("train.freeze_bn_affine needs train.freeze_bn: true")
