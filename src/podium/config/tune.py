"""The `tune:` section of a config, validated with the config (unknown keys name the closest
valid one), so the rest of tune trusts it.

    tune:
      mode: train                 # train: trials train the experiment; meta: the ensemble's
                                  # XGBoost meta-model, scored by its meta CV
      study: digits-regnetx       # default: the config's name; a study resumes by name
      storage: null               # default sqlite:///<runs>/<comp>/optuna.db; any RDB URL, or
                                  # a file path (no "://") for a journal file shared on one host
      n_trials: 20                # bounds this run (per worker); timeout: seconds
      space:
        train.lr: {type: float, low: 1.0e-4, high: 3.0e-2, log: true}
        train.batch_size: [32, 64, 128]              # shorthand for a categorical
        mix: {type: categorical, choices: [none, mixup, cutmix]}
        train.cutmix_alpha: {type: float, low: 0.2, high: 1.0, when: {mix: cutmix}}

In train mode a dotted name is a config key; a plain name (`mix`) is a switch that only
gates other parameters through `when:` (and must be used by one, so a typo cannot hide).
In meta mode every name is an XGBoost parameter passed to the meta-model.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, field_validator, model_validator

from podium.config.section import StageSection, SubSection

Choice = bool | int | float | str | None  # what Optuna stores for a categorical


class _Param(SubSection):
    # `{switch: value}` or `{switch: [value, ...]}`: suggest this parameter only when every
    # named parameter (declared earlier) took one of the listed values in this trial
    when: dict[str, Choice | list[Choice]] | None = None

    def active(self, chosen: dict[str, Any]) -> bool:
        if not self.when:
            return True
        for name, allowed in self.when.items():
            values = allowed if isinstance(allowed, list) else [allowed]
            if name not in chosen or chosen[name] not in values:
                return False
        return True


class FloatParam(_Param):
    type: Literal["float"]
    low: float
    high: float
    log: bool = False
    step: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _range(self) -> FloatParam:
        _check_range(self.low, self.high, self.log, self.step)
        return self

    def probe_values(self) -> list[Any]:
        return [self.low, self.high]


class IntParam(_Param):
    type: Literal["int"]
    low: int
    high: int
    log: bool = False
    step: int = Field(1, ge=1)

    @model_validator(mode="after")
    def _range(self) -> IntParam:
        _check_range(self.low, self.high, self.log, None if self.step == 1 else self.step)
        return self

    def probe_values(self) -> list[Any]:
        return [self.low, self.high]


class CategoricalParam(_Param):
    type: Literal["categorical"]
    choices: list[Choice] = Field(min_length=1)

    def probe_values(self) -> list[Any]:
        return list(self.choices)


def _check_range(low: float, high: float, log: bool, step: float | None) -> None:
    """Optuna's own rules, checked when the config is read rather than at the first trial."""
    if low > high:
        raise ValueError(f"low ({low}) is above high ({high})")
    if log and step is not None:
        raise ValueError("log and step cannot be combined (Optuna samples one or the other)")
    if log and low <= 0:
        raise ValueError(f"a log scale needs low > 0 (got {low})")


Param = Annotated[FloatParam | IntParam | CategoricalParam, Field(discriminator="type")]


# ---- samplers and pruners: a name plus the keyword arguments of Optuna's class ---------------


class TPESamplerConfig(SubSection):
    """Seeded multivariate TPE; `group` splits conditional spaces, `constant_liar` keeps
    concurrent workers from piling onto the same point."""

    name: Literal["tpe"] = "tpe"
    seed: int | None = 0
    n_startup_trials: int = Field(10, ge=0)
    multivariate: bool = True
    group: bool | None = None  # default: on when the space has conditional parameters
    constant_liar: bool = True


class RandomSamplerConfig(SubSection):
    name: Literal["random"]
    seed: int | None = 0


class MedianPrunerConfig(SubSection):
    name: Literal["median"] = "median"
    n_startup_trials: int = Field(5, ge=0)
    n_warmup_steps: int = Field(1, ge=0)  # epochs every trial runs before it can be pruned
    interval_steps: int = Field(1, ge=1)


class HalvingPrunerConfig(SubSection):
    """Successive halving: rungs at min_resource * reduction_factor**k epochs."""

    name: Literal["halving"]
    min_resource: int | Literal["auto"] = "auto"
    reduction_factor: int = Field(4, ge=2)
    min_early_stopping_rate: int = Field(0, ge=0)


class HyperbandPrunerConfig(SubSection):
    name: Literal["hyperband"]
    min_resource: int = Field(1, ge=1)
    max_resource: int | Literal["auto"] = "auto"
    reduction_factor: int = Field(3, ge=2)


class WilcoxonPrunerConfig(SubSection):
    """Prunes across folds: each fold's score is one paired sample against the best trial.
    With it, a trial reports once per fold (not per epoch); a signed-rank test needs about
    five folds or more (`train.folds`) before any p-value can fall under the threshold."""

    name: Literal["wilcoxon"]
    p_threshold: float = Field(0.1, gt=0, lt=1)
    n_startup_steps: int = Field(2, ge=0)


class NoPrunerConfig(SubSection):
    name: Literal["none"]


def _name_or(default: str) -> Discriminator:
    """The union's tag, `default` when the mapping leaves `name` out, so that an override
    like `tune.sampler.seed=1` keeps the default sampler."""

    def tag(v: Any) -> str:
        return (v.get("name") or default) if isinstance(v, dict) else v.name

    return Discriminator(tag)


SamplerConfig = Annotated[
    Annotated[TPESamplerConfig, Tag("tpe")] | Annotated[RandomSamplerConfig, Tag("random")],
    _name_or("tpe"),
]
PrunerConfig = Annotated[
    Annotated[MedianPrunerConfig, Tag("median")]
    | Annotated[HalvingPrunerConfig, Tag("halving")]
    | Annotated[HyperbandPrunerConfig, Tag("hyperband")]
    | Annotated[WilcoxonPrunerConfig, Tag("wilcoxon")]
    | Annotated[NoPrunerConfig, Tag("none")],
    _name_or("median"),
]


class TuneConfig(StageSection):
    mode: Literal["train", "meta"] = "train"
    # default: the config's name; it names a folder, so no slashes
    study: str | None = Field(None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    storage: str | None = None
    n_trials: int | None = Field(20, ge=1)  # per run of `podium tune` (per worker)
    timeout: float | None = Field(None, gt=0)  # seconds, per run
    max_trials: int | None = Field(None, ge=1)  # finished trials in the whole study
    space: dict[str, Param] = Field(min_length=1)
    # trials to run first, e.g. the untuned defaults as a baseline: [{train.lr: 0.003}]
    enqueue: list[dict[str, Choice]] = Field(default_factory=list)
    sampler: SamplerConfig = Field(default_factory=TPESamplerConfig)
    pruner: PrunerConfig = Field(default_factory=MedianPrunerConfig)
    # seconds between a worker's heartbeats (RDB and journal storages): a killed worker's
    # trial is failed after 3 missed beats and re-queued once, resuming from its last.pt
    heartbeat: int | None = Field(60, ge=1)
    keep_checkpoints: bool = False  # trials keep history.csv/result.json; .pt files only if set
    # score the best settings and the untuned baseline on the folds not tuned on (train mode:
    # both trained there; meta mode: trials scored on the tuned folds' rows, default the first
    # half): the best trial's own value is optimistic, chosen among many on the tuned folds
    holdout: bool = True

    @field_validator("space", mode="before")
    @classmethod
    def _shorthand(cls, v: Any) -> Any:
        """`key: [a, b, c]` is a categorical."""
        if isinstance(v, dict):
            return {
                k: {"type": "categorical", "choices": p} if isinstance(p, list) else p
                for k, p in v.items()
            }
        return v

    @model_validator(mode="after")
    def _conditions(self) -> TuneConfig:
        names = list(self.space)
        for i, (name, param) in enumerate(self.space.items()):
            for gate in param.when or {}:
                if gate not in names[:i]:
                    where = "declared after it" if gate in names else "not in the space"
                    raise ValueError(
                        f"space[{name!r}].when names {gate!r}, which is {where}; "
                        "a condition refers to a parameter declared above it"
                    )
        for i, trial in enumerate(self.enqueue):
            unknown = [k for k in trial if k not in self.space]
            if unknown:
                raise ValueError(f"enqueue[{i}] names {unknown}, which are not in the space")
        if self.mode == "train":
            gates = {g for p in self.space.values() for g in p.when or {}}
            loose = [n for n in names if "." not in n and n not in gates]
            if loose:
                raise ValueError(
                    f"space names {loose} are neither config keys (section.key, e.g. train.lr) "
                    "nor switches used by a `when:`"
                )
        return self

    @property
    def has_conditions(self) -> bool:
        return any(p.when for p in self.space.values())

    @classmethod
    def known_names(cls) -> list[str]:
        return _KNOWN_FIELDS

    @classmethod
    def location(cls, name: str, loc: tuple[Any, ...]) -> str:
        return _where(name, loc)


# ---- how its errors name the keys ------------------------------------------------------------


def _fields_of(models: list[type[SubSection]]) -> list[str]:
    return sorted({f for m in models for f in m.model_fields})


_KNOWN_FIELDS = _fields_of(
    [
        TuneConfig,
        FloatParam,
        IntParam,
        CategoricalParam,
        TPESamplerConfig,
        RandomSamplerConfig,
        MedianPrunerConfig,
        HalvingPrunerConfig,
        HyperbandPrunerConfig,
        WilcoxonPrunerConfig,
    ]
)
_TAGS = {"float", "int", "categorical", "tpe", "random"}
_TAGS |= {"median", "halving", "hyperband", "wilcoxon", "none"}


def _where(name: str, loc: tuple[Any, ...]) -> str:
    """('space', 'train.lr', 'float', 'low') -> "tune.space['train.lr'].low": the union's
    tag ('float') is pydantic's, not a key the user wrote, so it is left out."""
    out = name
    for i, part in enumerate(loc):
        is_tag = part in _TAGS and (
            (i == 1 and loc[0] in ("sampler", "pruner")) or (i == 2 and loc[0] == "space")
        )
        if is_tag:
            continue
        if isinstance(part, int) or (i == 1 and loc[0] == "space"):
            out += f"[{part!r}]"
        else:
            out += f".{part}"
    return out
