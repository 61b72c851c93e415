"""The typed schema of a config: one pydantic model per section, validated at the boundary
(unknown keys are errors), the stage sections typed by their own modules (`tabular`,
`ensemble`, `pseudo`, `tune`), the experiment's kind decided in one place (`Config.kind`, a
`podium.config.kind.Kind`) and the paths every stage agrees on.

Why pydantic: one declaration gives types, defaults and error paths (`train.lr`); stages get
a validated `Config` and never re-check it. Checks that need a library (is the metric known to
the task, is the timm model known) run in `podium.validate`, before any stage writes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, overload

from pydantic import (
    ConfigDict,
    Field,
    PrivateAttr,
    field_serializer,
    field_validator,
    model_validator,
)

from podium.config.ensemble import EnsembleConfig
from podium.config.inputs import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    ExternalSource,
    MetadataColumns,
    check_metadata_columns,
    default_normalisation,
)
from podium.config.kind import Kind, kind_of
from podium.config.metric import MetricSpec
from podium.config.multitarget import TargetSpec
from podium.config.names import check_folder_name
from podium.config.pseudo import PseudoConfig
from podium.config.rle_rows import RleRows
from podium.config.section import Section, StageSection
from podium.config.slices import SlicesConfig
from podium.config.tabular import TabularConfig
from podium.config.targets import resolve_targets, target_names
from podium.config.track import TrackConfig
from podium.config.training import ModelConfig, TrainConfig, check_stage_sizes
from podium.config.tune import TuneConfig
from podium.config.views import TTA_VIEWS_DOC, InferConfig, check_view_name
from podium.config.volumes import VolumeKeys, check_volume_model
from podium.config.windows import WindowKeys, windows_channels
from podium.errors import ConfigError

__all__ = [
    "TTA_VIEWS_DOC",
    "ConfigError",
    "ExternalSource",
    "InferConfig",
    "check_view_name",
    "default_normalisation",
]

# the stage sections and their models, validated with the config (`loading.from_dict`)
StageName = Literal["tabular", "ensemble", "pseudo", "tune"]
STAGE_SECTIONS: dict[StageName, type[StageSection]] = {
    "tabular": TabularConfig,
    "ensemble": EnsembleConfig,
    "pseudo": PseudoConfig,
    "tune": TuneConfig,
}


class RleSpec(Section):
    """A run-length convention spelled out (`competition.rle`): see podium.segmentation.rle."""

    order: Literal["column", "row"] = "column"
    start: Literal[0, 1] = 1
    empty: str = ""  # how an empty mask is written (SIIM: "-1")


class CompetitionConfig(Section):
    """The data contract of one competition (Kaggle layout under `paths.data/<name>/`)."""

    name: str
    train_csv: str = "train.csv"
    test_csv: str | None = None  # default: the ids of sample_submission.csv
    sample_submission: str = "sample_submission.csv"
    solution: str | None = "solution.csv"  # hidden test labels, where the organiser has them
    id_column: str = "id"
    target_column: str = "label"
    target_columns: list[str] | None = None  # regression: several targets; multilabel: 0/1 columns
    group_column: str | None = None
    train_images: str = "train/{id}.png"
    test_images: str = "test/{id}.png"
    task: Literal[
        "multiclass", "binary", "regression", "multilabel", "ordinal", "segmentation", "multitarget"
    ] = "multiclass"
    classes: list[str] | None = None  # default: sorted unique labels of train.csv
    # a built-in metric's name, or a plug-in (`MetricSpec`); none: the task's default
    metric: str | MetricSpec | None = None
    # what the submission's target column(s) hold: the label, or one probability per class
    submission_format: Literal["label", "proba"] = "label"
    clip: bool = False  # regression: submitted values clipped to train.csv's range
    # numeric / categorical columns of train.csv and the test table (podium.data.metadata)
    metadata: MetadataColumns | None = None
    thresholds: Literal["global", "per_label"] = "global"  # multilabel F metrics: fitted on OOF
    grades: list[int] | None = None  # ordinal: default every integer from train's min to max
    ordinal_head: Literal["regression", "expectation"] = "regression"  # ordinal's model head
    # segmentation (podium.tasks.segmentation): masks as run-lengths in `target_column` with
    # this convention (a preset name of podium.segmentation.rle, or {order, start, empty}),
    # or as image files found by `train_masks` (a template with {id}, `mask_layout`)
    rle: str | RleSpec = "column"
    train_masks: str | None = None
    mask_layout: Literal["binary", "index", "per_class"] = "binary"
    rle_rows: RleRows | None = None  # one run-length row per (image, class): Severstal, Clouds
    # multitarget (podium.config.multitarget): several target columns of mixed kinds
    targets: dict[str, TargetSpec] | None = None

    @field_validator("name")
    @classmethod
    def _folder_name(cls, v: str) -> str:
        return check_folder_name(v, "competition")

    @model_validator(mode="after")
    def _targets(self) -> CompetitionConfig:
        resolved = resolve_targets(self)  # regression's defaults and keys
        if resolved.metadata is not None:
            taken = {c: "target" for c in resolved.target_names} | {resolved.id_column: "id"}
            if resolved.group_column:
                taken[resolved.group_column] = "group"
            check_metadata_columns(resolved.metadata, taken)
        return resolved

    @property
    def target_names(self) -> list[str]:
        return target_names(self)  # target_columns, else [target_column]


class FoldsConfig(Section):
    method: Literal["kfold", "stratified", "group", "stratified_group"] = "stratified"
    n_splits: int = Field(5, ge=2)
    seed: int = 42


class AugmentConfig(Section):
    """One albumentations transform: `name` is the class, the rest its keyword arguments."""

    model_config = ConfigDict(extra="allow")
    name: str


class DataConfig(VolumeKeys, WindowKeys):  # volume keys: config/volumes.py; windows: windows.py
    image_size: tuple[int, int] = (224, 224)
    # size the decode cache stores (default: image_size); larger lets crops sample detail
    cache_size: tuple[int, int] | None = None
    cache: Literal["memory", "memmap"] = "memmap"
    # one value per channel; when not given, `default_normalisation(n_channels)`
    mean: tuple[float, ...] = IMAGENET_MEAN
    std: tuple[float, ...] = IMAGENET_STD
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
    # DICOM's own window (VOI LUT or WindowCenter/Width): `file` uses it (after the rescale,
    # before MONOCHROME1's inversion, as DICOM orders them), `none` ignores it (data.window, else
    # percentiles), [low, high] replaces it (modality units, DICOM only)
    dicom_window: Literal["file", "none"] | tuple[float, float] = "file"
    # labelled images outside the competition's train.csv: they join every fold's training
    # rows, never a validation fold (podium.external)
    external: list[ExternalSource] = Field(default_factory=list)
    # series (podium.config.slices): each path a folder of slices, read as `depth` channels
    slices: SlicesConfig | None = None

    @property
    def n_channels(self) -> int:
        """The cache's channels: `channels`, a series' depth (times its windows), a volume's
        depth."""
        if self.slices is not None:
            return self.slices.depth * self.slice_channels
        if self.volume_canvas is not None:
            return self.volume_canvas[0]
        return len(self.channels) if isinstance(self.channels, list) else self.channels

    @field_validator("image_size", "cache_size", mode="before")
    @classmethod
    def _square(cls, v: Any) -> Any:
        return (v, v) if isinstance(v, int) else v

    @field_validator("image_size", "cache_size")
    @classmethod
    def _positive_size(cls, v: tuple[int, int] | None, info: Any) -> tuple[int, int] | None:
        if v is not None and min(v) < 1:
            raise ValueError(f"{info.field_name} must be at least 1 pixel a side, got {list(v)}")
        return v

    @field_validator("channels")
    @classmethod
    def _channels(cls, v: int | list[str]) -> int | list[str]:
        if isinstance(v, int) and v < 1:
            raise ValueError(f"channels must be at least 1, got {v}")
        if isinstance(v, list) and (not v or len(set(v)) != len(v) or "" in v):
            raise ValueError(f"channel names must be distinct and non-empty, got {v}")
        return v

    @field_validator("window", "percentiles", "dicom_window")
    @classmethod
    def _low_high(cls, v: Any, info: Any) -> Any:
        if isinstance(v, tuple) and not v[0] < v[1]:
            raise ValueError(
                f"{info.field_name} must be [low, high] with low < high, got {list(v)}"
            )
        if info.field_name == "percentiles" and v is not None and not 0 <= v[0] < v[1] <= 100:
            raise ValueError(f"percentiles must lie in [0, 100], got {list(v)}")
        return v

    @field_validator("std")
    @classmethod
    def _positive_std(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        if any(s <= 0 for s in v):
            raise ValueError(f"std values must be positive, got {list(v)}")
        return v

    @model_validator(mode="after")
    def _normalisation_per_channel(self) -> DataConfig:
        """mean/std left out follow the channel count; given ones must have one value each."""
        windows_channels(self)  # a 2-D image's channels: one per window (config/windows.py)
        n = self.n_channels
        grey = self.slices is not None or self.volume_size is not None
        if grey:  # grey slices: channels is 1 (3, the default, becomes 1)
            if isinstance(self.channels, list) or self.channels not in (1, 3):
                raise ValueError("channels: a series' or a volume's slices are grey (one channel)")
            self.__dict__["channels"] = 1  # saved configs (config.yaml, bundles) say so
        default_mean, default_std = default_normalisation(n)
        if self.volume_size is not None:  # one value per slice, alike: not ImageNet's for D=3
            default_mean, default_std = (0.5,) * n, (0.25,) * n
        for key, default in (("mean", default_mean), ("std", default_std)):
            if key not in self.model_fields_set:
                self.__dict__[key] = default  # not setattr: that would re-run this validator
            elif len(getattr(self, key)) != n:
                raise ValueError(
                    f"{key} has {len(getattr(self, key))} values but channels gives "
                    f"{n} channel(s); give {n} values, or leave {key} out for the default "
                    f"{list(default)}"
                )
        return self


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
    # stage sections: they decide the kind (`kind`), and each is read by its stage
    tabular: TabularConfig | None = None
    ensemble: EnsembleConfig | None = None
    pseudo: PseudoConfig | None = None
    tune: TuneConfig | None = None
    track: TrackConfig | None = None  # experiment trackers (podium.tracking); never fingerprinted
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
        # the run name's check needs the kind, so the stage sections: `from_dict` makes it
        if self.train.folds is not None:
            bad = [f for f in self.train.folds if not 0 <= f < self.folds.n_splits]
            if bad:
                raise ValueError(f"train.folds {bad} outside 0..{self.folds.n_splits - 1}")
        check_stage_sizes(self.train, self.data.image_size, self.data.cache_size)
        check_volume_model(self.data, self.model.arch, self.infer.tta, bool(self.train.stages))
        if self.data.volume_size is not None:  # a 3-D network's weights are 5-D: no NHWC
            self.train.__dict__["channels_last"] = False
        return self

    @field_serializer(*STAGE_SECTIONS)
    def _as_written(self, section: StageSection | None) -> dict[str, Any] | None:
        """A stage section is saved as the user wrote it (see `StageSection.as_written`)."""
        return None if section is None else section.as_written()

    @property
    def kind(self) -> Kind:
        """What this config trains or combines, decided here and only here from its stage
        sections (`podium.config.kind`): an ensemble, a pseudo-label student, a tabular
        model on pixels, or a plain CNN experiment."""
        return kind_of({name for name in STAGE_SECTIONS if getattr(self, name) is not None})

    @overload
    def section(self, name: Literal["tabular"]) -> TabularConfig: ...
    @overload
    def section(self, name: Literal["ensemble"]) -> EnsembleConfig: ...
    @overload
    def section(self, name: Literal["pseudo"]) -> PseudoConfig: ...
    @overload
    def section(self, name: Literal["tune"]) -> TuneConfig: ...
    def section(self, name: StageName) -> StageSection:
        """The stage section `name`, for a stage that needs it: a ConfigError naming the file
        when the config has none (`podium tune` on a config without `tune:`)."""
        section: StageSection | None = getattr(self, name)
        if section is None:
            raise ConfigError(
                f"{self.source}: no `{name}:` section (see configs/digits/{name}.yaml)"
            )
        return section

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
    def base_dir(self) -> Path | None:
        """The folder its plug-in metric's file was read from (None: no metric file); a
        config made from this one (a tune trial's) reads it from there too."""
        metric = self.competition.metric
        return metric.base_dir if isinstance(metric, MetricSpec) else None

    @property
    def run_dir(self) -> Path:
        """runs/<comp>/<exp>/, or where its kind keeps runs (an ensemble's:
        runs/<comp>/ensemble/<name>/)."""
        if self._run_subdir is not None:
            return self.comp_dir / self._run_subdir
        return self.kind.run_dir(self.comp_dir, self.name)

    @property
    def folds_path(self) -> Path:
        return self.comp_dir / "folds.csv"

    def fold_ids(self) -> list[int]:
        return (
            self.train.folds if self.train.folds is not None else list(range(self.folds.n_splits))
        )

    def resolved(self) -> dict[str, Any]:
        d = self.model_dump(mode="json", exclude={"source"})
        if d.get("track") is None:  # no key, so configs without trackers resolve as before
            d.pop("track", None)
        return d
