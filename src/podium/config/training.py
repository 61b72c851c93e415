"""The `model:` and `train:` sections: what the training core builds and how it trains, and
the checks that keep the training recipes' keys (`podium.config.recipes`) consistent with
each other and with the run's length (`check_recipes`, run by `TrainConfig`'s validator;
`check_stage_sizes`, run by the config's, which knows the image sizes)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from podium.config.recipes import DistillConfig, StageConfig, SwaConfig, UnfreezeConfig
from podium.config.section import Section
from podium.config.slices import SequenceHead

# the losses `train.loss` names; the mask losses (segmentation_models_pytorch's) may be summed
MASK_LOSSES = ("bce", "dice", "jaccard", "lovasz", "focal")
LOSS_NAMES = ("ce", "focal", "mse", "huber", "l1", "bce", "asl", "dice", "jaccard", "lovasz")


class MetadataNetConfig(Section):
    """`model.metadata`: the MLP over `competition.metadata` joined to the backbone's pooled
    features before the head (podium.engine.metadata_net). On whenever the competition lists
    metadata; `use: false` trains the image-only network on the same competition."""

    use: bool = True
    hidden: int = Field(64, ge=1)  # width of the MLP's two layers
    embed_dim: int = Field(8, ge=1)  # per categorical column (at most its categories + 1)
    dropout: float = Field(0.1, ge=0, lt=1)


class ModelConfig(Section):
    name: str = "resnet18"  # any timm model name
    pretrained: bool = False
    weights: str | None = None  # a local checkpoint file; never downloaded
    drop_rate: float = Field(0.0, ge=0, lt=1)
    drop_path_rate: float = Field(0.0, ge=0, lt=1)
    kwargs: dict[str, Any] = Field(default_factory=dict)  # passed to timm.create_model
    # segmentation: the decoder (segmentation_models_pytorch's architecture: unet,
    # unetplusplus, fpn, deeplabv3plus, segformer, upernet, ...) over the timm encoder `name`
    arch: str | None = None
    metadata: MetadataNetConfig = Field(default_factory=MetadataNetConfig)
    # timm's set_grad_checkpointing: recompute activations in backward (memory for time)
    grad_checkpointing: bool = False
    # series (`data.slices`): how per-slice features become the study's (podium.series.heads)
    sequence_head: SequenceHead = "attention"


class TrainConfig(Section):
    folds: list[int] | None = None  # default: every fold
    seeds: list[int] = Field(default_factory=lambda: [0])
    epochs: int = Field(10, ge=1)
    batch_size: int = Field(64, ge=1)
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(0.05, ge=0)
    optimizer: str = "adamw"  # any timm.optim name
    momentum: float = 0.9
    scheduler: Literal["cosine", "flat_cosine", "onecycle", "step", "none"] = "cosine"
    warmup_epochs: float = Field(1.0, ge=0)
    min_lr: float = 1e-6
    flat_fraction: float = Field(0.5, ge=0, lt=1)  # flat_cosine: the run's flat share
    # cosine with warm restarts: this many equal cycles (timm's cycle_limit); `snapshots`
    # saves the weights at the end of each (snapshot{i}.pt, `checkpoint: snapshots`)
    cycles: int = Field(1, ge=1)
    cycle_decay: float = Field(1.0, gt=0)  # each restart's peak LR = the previous one's x this
    snapshots: bool = False
    swa: SwaConfig | None = None
    backbone_lr_mult: float = Field(1.0, gt=0)  # discriminative learning rate
    freeze_backbone_epochs: int = Field(0, ge=0)
    unfreeze: UnfreezeConfig | None = None  # gradual unfreezing, top stage groups first
    # progressive resizing: train.epochs split into stages at growing image sizes
    stages: list[StageConfig] | None = None
    distill: DistillConfig | None = None  # a teacher's soft predictions join the labels
    freeze_bn: bool = False  # BatchNorm layers in eval mode: running statistics never change
    freeze_bn_affine: bool = False  # with freeze_bn: their weight and bias are frozen too
    grad_accum: int = Field(1, ge=1)
    sync_bn: bool = False  # under torchrun on GPUs: BatchNorm statistics over the global batch
    clip_grad: float | None = None
    precision: Literal["auto", "bf16", "fp16", "fp32"] = "auto"
    device: str = "auto"
    channels_last: bool = True
    compile: bool = False
    ema_decay: float | None = None
    mixup_alpha: float = Field(0.0, ge=0)
    cutmix_alpha: float = Field(0.0, ge=0)
    mixup_prob: float = Field(1.0, ge=0, le=1)
    label_smoothing: float = Field(0.0, ge=0, lt=1)
    # none: the task's default (ce for classes, mse for values, bce for labels, bce+dice for
    # masks); segmentation sums smp's losses: bce, dice, jaccard, lovasz, focal (`bce+dice`)
    loss: str | None = None
    focal_gamma: float = 2.0
    asl_gamma_neg: float = Field(4.0, ge=0)  # multilabel asl: focusing of negatives
    asl_gamma_pos: float = Field(1.0, ge=0)  # ... of positives
    asl_clip: float = Field(0.05, ge=0, lt=1)  # ... probability shift of negatives
    class_weights: Literal["none", "balanced"] | list[float] = "none"
    sampler: Literal["none", "upsample", "downsample"] = "none"
    early_stopping_patience: int | None = None
    # which weights oof/infer use: best, last, swa (the SWA average) or snapshots (the
    # mean of the snapshots' predictions)
    checkpoint: Literal["best", "last", "swa", "snapshots"] = "best"
    progress: bool = True
    # test hook: stop (as if killed) after this epoch; the next run resumes from last.pt
    stop_after_epoch: int | None = None

    @field_validator("loss")
    @classmethod
    def _loss(cls, v: str | None) -> str | None:
        if v is None:
            return v
        terms = [t.strip() for t in v.split("+")]
        unknown = [t for t in terms if t not in LOSS_NAMES]
        if unknown or (len(terms) > 1 and set(terms) - set(MASK_LOSSES)):
            raise ValueError(
                f"unknown loss {v!r}: one of {', '.join(LOSS_NAMES)}, or a sum of the mask "
                f"losses ({'+'.join(MASK_LOSSES)})"
            )
        return "+".join(terms)

    @model_validator(mode="after")
    def _recipes(self) -> TrainConfig:
        check_recipes(self)
        return self


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
