"""The typed configuration: YAML files composed with `extends:`, dotted `key=value` overrides,
validation at the boundary (unknown keys name the closest valid key), and the resolved form
that every run saves beside its artifacts.

Why pydantic: one declaration gives types, defaults, and error paths (`train.lr`) for free;
stages receive a validated `Config` and never re-check it.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)


class ConfigError(ValueError):
    """A config file or override is wrong; the message names the file and the key."""


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

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, v: str) -> str:
        from podium.metrics import METRICS

        if v not in METRICS:
            close = difflib.get_close_matches(v, list(METRICS), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ValueError(f"unknown metric {v!r}{hint} (known: {sorted(METRICS)})")
        return v


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

    @field_validator("image_size", "cache_size", mode="before")
    @classmethod
    def _square(cls, v: Any) -> Any:
        return (v, v) if isinstance(v, int) else v


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
    scheduler: Literal["cosine", "onecycle", "step", "none"] = "cosine"
    warmup_epochs: float = Field(1.0, ge=0)
    min_lr: float = 1e-6
    backbone_lr_mult: float = Field(1.0, gt=0)  # discriminative learning rate
    freeze_backbone_epochs: int = Field(0, ge=0)
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
    checkpoint: Literal["best", "last"] = "best"  # which weights oof/infer use
    progress: bool = True
    # test hook: stop (as if killed) after this epoch; the next run resumes from last.pt
    stop_after_epoch: int | None = None


TTA_VIEWS_DOC = "identity, hflip, vflip, transpose, rot90, rot180, rot270, scale<f>, shift<dx>_<dy>"


class InferConfig(Section):
    tta: list[str] = Field(default_factory=lambda: ["identity"])
    merge: Literal["prob", "logit", "geometric"] = "prob"
    batch_size: int = Field(256, ge=1)

    @field_validator("tta")
    @classmethod
    def _known_views(cls, views: list[str]) -> list[str]:
        from podium.data.tta import get_view

        if not views:
            raise ValueError("infer.tta needs at least one view (identity)")
        for v in views:
            get_view(v)  # raises with the list of known views
        return views


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
        if self.ensemble is not None:
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

    def training_hash(self) -> str:
        """Hash of what changes trained weights (not progress bars, the kill hook, which units
        run, or which checkpoint predictions use)."""
        d = self.resolved()
        if self.tabular is not None:
            # a tabular member reads only the decoded pixels and its own section, all seeds in
            # one run: CNN settings (an ensemble's `train.epochs=3`) must not invalidate it
            d = {k: d[k] for k in ("competition", "folds", "tabular")} | {
                "seeds": self.train.seeds,
                "cache": self.data.cache,
            }
        else:
            d["train"] = {
                k: v
                for k, v in d["train"].items()
                if k not in {"progress", "stop_after_epoch", "folds", "seeds", "checkpoint"}
            }
            for k in ("infer", "paths", "ensemble", "tune", "name"):  # pseudo rows change training
                d.pop(k, None)
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]


# ---- loading -------------------------------------------------------------------------------


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = (
            _deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
        )
    return out


def read_yaml(path: Path, _chain: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Read one YAML mapping (safe loader only), following `extends:` (a path or a list);
    `_chain` is the files that extend this one, so a cycle is named instead of recursing."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {e}") from e
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(raw).__name__}")
    parents = raw.pop("extends", None) or []
    merged: dict[str, Any] = {}
    chain = (*_chain, path)
    for parent in [parents] if isinstance(parents, str) else parents:
        if not isinstance(parent, str):
            raise ConfigError(
                f"{path}: extends must name a file or a list of files, got {parent!r}"
            )
        target = path.parent / parent
        if not target.is_file():
            raise ConfigError(f"{path}: extends {parent!r}, which does not exist ({target})")
        if target.resolve() in {p.resolve() for p in chain}:
            cycle = " -> ".join(str(p) for p in (*chain, target))
            raise ConfigError(f"{path}: extends {parent!r}, which makes a cycle: {cycle}")
        merged = _deep_merge(merged, read_yaml(target, chain))
    return _deep_merge(merged, raw)


def parse_override(text: str) -> tuple[list[str], Any]:
    """`train.lr=3e-4` -> (["train", "lr"], 0.0003); the value is parsed as YAML."""
    if "=" not in text:
        raise ConfigError(f"override {text!r} is not of the form key=value (e.g. train.epochs=3)")
    key, value = text.split("=", 1)
    return key.strip().split("."), yaml.safe_load(value) if value != "" else None


def apply_overrides(d: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    d = json.loads(json.dumps(d))  # deep copy of plain data
    for text in overrides:
        keys, value = parse_override(text)
        node = d
        for k in keys[:-1]:
            node = node.setdefault(k, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {text!r}: {k} is not a section")
        node[keys[-1]] = value
    return d


def _valid_keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    keys = []
    for name, field in model.model_fields.items():
        keys.append(prefix + name)
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            keys += _valid_keys(ann, prefix + name + ".")
    return keys


def _explain(err: ValidationError, source: str) -> ConfigError:
    lines = []
    valid = _valid_keys(Config)
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"])
        if e["type"] == "extra_forbidden":
            close = difflib.get_close_matches(loc, valid, n=1, cutoff=0.5)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            lines.append(f"unknown key {loc!r}{hint}")
        else:
            msg = e["msg"].removeprefix("Value error, ")
            got = repr(e.get("input"))
            lines.append(f"{loc or '<root>'}: {msg}" + ("" if got in msg else f" (got {got})"))
    return ConfigError(f"{source}: invalid config:\n  " + "\n  ".join(lines))


def parse_section(
    cfg: Config,
    name: str,
    model: type[BaseModel],
    *,
    known: list[str] | None = None,
    where: Callable[[tuple], str] | None = None,
    suggest: Callable[[str], str] = repr,
    data: Any = None,
) -> Any:
    """Validate a stage's own section (`ensemble:`, `pseudo:`, `tune:`, `tabular:`) with its
    pydantic model; errors name the file and the key, unknown keys the closest valid one.

    `known` lists the names to suggest from (default: the model's fields), `where` renders a
    pydantic location (default: dotted under `name`), `suggest` renders a suggestion."""
    section = getattr(cfg, name) if data is None else data
    if section is None:
        raise ConfigError(f"{cfg.source}: no `{name}:` section (see configs/digits/{name}.yaml)")
    try:
        return model.model_validate(section)
    except ValidationError as err:
        render = where or (lambda loc: ".".join([name, *(str(p) for p in loc)]))
        names = known if known is not None else list(model.model_fields)
        lines = []
        for e in err.errors():
            at = render(tuple(e["loc"]))
            if e["type"] == "extra_forbidden":
                close = difflib.get_close_matches(str(e["loc"][-1]), names, n=1)
                hint = f"; did you mean {suggest(close[0])}?" if close else ""
                lines.append(f"unknown key {at}{hint}")
            else:
                got = f" (got {e.get('input')!r})" if e["loc"] else ""
                lines.append(f"{at}: {e['msg'].removeprefix('Value error, ')}{got}")
        raise ConfigError(
            f"{cfg.source}: invalid {name} section:\n  " + "\n  ".join(lines)
        ) from None


def from_dict(d: dict[str, Any], source: str = "<dict>") -> Config:
    try:
        cfg = Config.model_validate(d)
    except ValidationError as e:
        raise _explain(e, source) from None
    cfg.source = source
    return cfg


def load_config(path: str | Path, overrides: list[str] | None = None) -> Config:
    """Load a YAML config, apply `key=value` overrides, validate. Errors name file and key."""
    d = read_yaml(Path(path))
    d.setdefault("name", Path(path).stem)  # an experiment is named after its file by default
    d = apply_overrides(d, overrides or [])
    return from_dict(d, source=str(path))


def save_resolved(cfg: Config, path: Path) -> None:
    from podium.artifacts import atomic_write_text

    atomic_write_text(path, yaml.safe_dump(cfg.resolved(), sort_keys=False))
