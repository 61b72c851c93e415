"""The typed schema of a config: one pydantic model per section, validated at the boundary
(unknown keys are errors), the experiment's kind decided in one place (`Config.kind`) and the
paths every stage agrees on.

Why pydantic: one declaration gives types, defaults, and error paths (`train.lr`) for free;
stages receive a validated `Config` and never re-check it. Checks that need a library (is the
metric known to the task, is the timm model known) run in `podium.validate`, before any stage
writes anything.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from podium.config.recipes import SwaConfig, UnfreezeConfig, check_recipes
from podium.errors import ConfigError

__all__ = ["ConfigError"]

Kind = Literal["cnn", "tabular", "ensemble", "pseudo"]

# a run folder is named after the experiment (and the competition): one plain folder name,
# so `name: ../other` cannot write, or `--force` delete, outside runs/<comp>/
_FOLDER_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")


def check_folder_name(value: str, what: str) -> str:
    if not _FOLDER_NAME.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a valid {what} name (a plain folder name: letters, digits, '-', "
            "'_', '.'; no separators, not '.' or '..', no leading '.')"
        )
    return value


class Section(BaseModel):
    """Base of every config section: unknown keys are errors, assignments are validated."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class CompetitionConfig(Section):
    """The data contract of one competition (Kaggle layout under `paths.data/<name>/`)."""

    name: str
    train_csv: str = "train.csv"
    test_csv: str | None = None  # default: the ids of sample_submission.csv
    sample_submission: str = "sample_submission.csv"
    solution: str | None = "solution.csv"  # hidden test labels, where the organiser has them
    id_column: str = "id"
    target_column: str = "label"
    group_column: str | None = None
    train_images: str = "train/{id}.png"
    test_images: str = "test/{id}.png"
    task: Literal["multiclass", "binary"] = "multiclass"
    classes: list[str] | None = None  # default: sorted unique labels of train.csv
    metric: str = "accuracy"
    # what the submission's target column(s) hold: the label, or one probability per class
    submission_format: Literal["label", "proba"] = "label"

    @field_validator("name")
    @classmethod
    def _folder_name(cls, v: str) -> str:
        return check_folder_name(v, "competition")


class FoldsConfig(Section):
    method: Literal["kfold", "stratified", "group", "stratified_group"] = "stratified"
    n_splits: int = Field(5, ge=2)
    seed: int = 42


class AugmentConfig(Section):
    """One albumentations transform: `name` is the class, the rest its keyword arguments."""

    model_config = ConfigDict(extra="allow")
    name: str


class DataConfig(Section):
    image_size: tuple[int, int] = (224, 224)
    # size the decode cache stores (default: image_size); larger lets crops sample detail
    cache_size: tuple[int, int] | None = None
    cache: Literal["memory", "memmap"] = "memmap"
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)
    num_workers: int = Field(2, ge=0)
    train_augs: list[AugmentConfig] = Field(default_factory=list)
    # reading (podium.data.readers): a channel count, or names that fill `{channel}` in the
    # image path template (one file per channel, stacked in this order)
    channels: int | list[str] = 3
    resize: Literal["squash", "pad", "center_crop"] = "squash"  # to cache_size, mixed sizes
    pad_value: int = Field(0, ge=0, le=255)  # resize: pad's border
    # >8-bit images (16-bit PNG/TIFF) and DICOM (modality units, e.g. HU; overrides the file's
    # VOI window) map [low, high] to 0..255; without it, each image's percentiles do
    window: tuple[float, float] | None = None
    percentiles: tuple[float, float] = (0.5, 99.5)

    @field_validator("image_size", "cache_size", mode="before")
    @classmethod
    def _square(cls, v: Any) -> Any:
        return (v, v) if isinstance(v, int) else v

    @field_validator("channels")
    @classmethod
    def _channels(cls, v: int | list[str]) -> int | list[str]:
        if isinstance(v, int) and v < 1:
            raise ValueError(f"channels must be at least 1, got {v}")
        if isinstance(v, list) and (not v or len(set(v)) != len(v) or "" in v):
            raise ValueError(f"channel names must be distinct and non-empty, got {v}")
        return v

    @field_validator("window", "percentiles")
    @classmethod
    def _low_high(cls, v: tuple[float, float] | None, info: Any) -> tuple[float, float] | None:
        if v is not None and not v[0] < v[1]:
            raise ValueError(
                f"{info.field_name} must be [low, high] with low < high, got {list(v)}"
            )
        if info.field_name == "percentiles" and v is not None and not 0 <= v[0] < v[1] <= 100:
            raise ValueError(f"percentiles must lie in [0, 100], got {list(v)}")
        return v


class ModelConfig(Section):
    name: str = "resnet18"  # any timm model name
    pretrained: bool = False
    weights: str | None = None  # a local checkpoint file; never downloaded
    drop_rate: float = Field(0.0, ge=0, lt=1)
    drop_path_rate: float = Field(0.0, ge=0, lt=1)
    kwargs: dict[str, Any] = Field(default_factory=dict)  # passed to timm.create_model


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
    freeze_bn: bool = False  # BatchNorm layers in eval mode: running statistics never change
    freeze_bn_affine: bool = False  # with freeze_bn: their weight and bias are frozen too
    grad_accum: int = Field(1, ge=1)
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
    loss: Literal["ce", "focal"] = "ce"
    focal_gamma: float = 2.0
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


TTA_VIEWS_DOC = "identity, hflip, vflip, transpose, rot90, rot180, rot270, scale<f>, shift<dx>_<dy>"
FIXED_VIEWS = ("identity", "hflip", "vflip", "transpose", "rot90", "rot180", "rot270")
# the parametric views: scale<f> zooms about the centre, shift<dx>_<dy> translates by pixels
SCALE_VIEW = re.compile(r"scale(\d+(?:\.\d+)?)")
SHIFT_VIEW = re.compile(r"shift(-?\d+)_(-?\d+)")


def check_view_name(name: str) -> str:
    """A TTA view name is one of FIXED_VIEWS or matches a parametric pattern (torch-free, so a
    config validates without importing the views themselves)."""
    if name in FIXED_VIEWS or SCALE_VIEW.fullmatch(name) or SHIFT_VIEW.fullmatch(name):
        return name
    raise ValueError(
        f"unknown TTA view {name!r}; known: {sorted(FIXED_VIEWS)}, scale<f> (scale1.1), "
        "shift<dx>_<dy> (shift2_0)"
    )


class InferConfig(Section):
    tta: list[str] = Field(default_factory=lambda: ["identity"])
    merge: Literal["prob", "logit", "geometric"] = "prob"
    batch_size: int = Field(256, ge=1)

    @field_validator("tta")
    @classmethod
    def _known_views(cls, views: list[str]) -> list[str]:
        if not views:
            raise ValueError("infer.tta needs at least one view (identity)")
        return [check_view_name(v) for v in views]


class PathsConfig(Section):
    data: str = "data"
    runs: str = "runs"
    submissions: str = "submissions"


class Config(Section):
    """One experiment (or ensemble, pseudo, tune study) of one competition."""

    name: str
    competition: CompetitionConfig
    folds: FoldsConfig = Field(default_factory=FoldsConfig)
    data: DataConfig = Field(default_factory=DataConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    infer: InferConfig = Field(default_factory=InferConfig)
    paths: PathsConfig = Field(default_factory=PathsConfig)
    # stage sections owned by their stages; free-form here, validated by the stage
    tabular: dict[str, Any] | None = None
    ensemble: dict[str, Any] | None = None
    pseudo: dict[str, Any] | None = None
    tune: dict[str, Any] | None = None
    source: str | None = Field(None, exclude=True)  # the file it came from, for messages
    # podium's own nested runs (tune trials: tune/<study>/trialNNNN): not a YAML key, so a
    # user's `name` stays one plain folder; set with `nest_run`
    _run_subdir: str | None = PrivateAttr(None)

    @field_validator("name")
    @classmethod
    def _folder_name(cls, v: str) -> str:
        return check_folder_name(v, "experiment")

    @model_validator(mode="after")
    def _check(self) -> Config:
        if self.train.folds is not None:
            bad = [f for f in self.train.folds if not 0 <= f < self.folds.n_splits]
            if bad:
                raise ValueError(f"train.folds {bad} outside 0..{self.folds.n_splits - 1}")
        return self

    @property
    def kind(self) -> Kind:
        """What this config trains or combines, decided here and only here: an ensemble of
        members, a pseudo-label student (a CNN trained with a teacher's rows), a tabular
        model on pixels, or a plain CNN experiment."""
        if self.ensemble is not None:
            return "ensemble"
        if self.pseudo is not None:
            return "pseudo"
        if self.tabular is not None:
            return "tabular"
        return "cnn"

    # ---- paths every stage agrees on -------------------------------------------------------
    @property
    def data_dir(self) -> Path:
        return Path(self.paths.data) / self.competition.name

    @property
    def comp_dir(self) -> Path:
        return Path(self.paths.runs) / self.competition.name

    def nest_run(self, subdir: str) -> Config:
        """Place this config's run in `runs/<comp>/<subdir>/` (podium's tune trials), not in
        the folder its name gives; returns the config itself."""
        self._run_subdir = subdir
        return self

    @property
    def run_dir(self) -> Path:
        """runs/<comp>/<exp>/, or runs/<comp>/ensemble/<name>/ for an ensemble config."""
        if self._run_subdir is not None:
            return self.comp_dir / self._run_subdir
        if self.kind == "ensemble":
            return self.comp_dir / "ensemble" / self.name
        return self.comp_dir / self.name

    @property
    def folds_path(self) -> Path:
        return self.comp_dir / "folds.csv"

    def fold_ids(self) -> list[int]:
        return (
            self.train.folds if self.train.folds is not None else list(range(self.folds.n_splits))
        )

    def resolved(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude={"source"})
