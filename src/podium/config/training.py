"""The `model:` and `train:` sections: what the training core builds and how it trains."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from podium.config.recipes import (
    DistillConfig,
    StageConfig,
    SwaConfig,
    UnfreezeConfig,
    check_recipes,
)
from podium.config.section import Section


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
    metadata: MetadataNetConfig = Field(default_factory=MetadataNetConfig)
    # timm's set_grad_checkpointing: recompute activations in backward (memory for time)
    grad_checkpointing: bool = False


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
    # none: the task's default (ce for classes, mse for values, bce for labels)
    loss: Literal["ce", "focal", "mse", "huber", "l1", "bce", "asl"] | None = None
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

    @model_validator(mode="after")
    def _recipes(self) -> TrainConfig:
        check_recipes(self)
        return self
