"""Reading configs: YAML files composed with `extends:` (a path or a list, relative to the
file), dotted `key=value` overrides parsed as YAML, validation with errors that name the file
and the key (an unknown key names the closest valid one), the stage sections validated by
their own models with errors under their own names (`invalid tune section`), and the
resolved form every run saves beside its artifacts.
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from podium.artifacts import atomic_write_text
from podium.config.names import check_run_name
from podium.config.schema import STAGE_SECTIONS, Config
from podium.config.section import StageSection
from podium.errors import ConfigError


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = (
            deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
        )
    return out


def read_yaml(path: Path, _chain: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Read one YAML mapping (safe loader only), following `extends:` (a path or a list);
    `_chain` is the files that extend this one, so a cycle is named instead of recursing."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a YAML config (not UTF-8 text: a binary file?)") from None
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
        merged = deep_merge(merged, read_yaml(target, chain))
    return deep_merge(merged, raw)


def parse_override(text: str) -> tuple[list[str], Any]:
    """`train.lr=3e-4` -> (["train", "lr"], 0.0003); the value is parsed as YAML."""
    if "=" not in text:
        raise ConfigError(f"override {text!r} is not of the form key=value (e.g. train.epochs=3)")
    key, value = text.split("=", 1)
    try:
        parsed = yaml.safe_load(value) if value != "" else None
    except yaml.YAMLError as e:
        problem = str(getattr(e, "problem", "") or e).splitlines()[0]
        raise ConfigError(
            f"override {text!r}: the value {value!r} is not valid YAML ({problem}); quote it "
            "for a string (key='\"text\"'), or use [a, b] for a list"
        ) from None
    return key.strip().split("."), parsed


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


def parse_section(source: str, name: str, model: type[StageSection], data: Any) -> StageSection:
    """Validate a stage's own section (`ensemble:`, `pseudo:`, `tune:`, `tabular:`) with its
    model; errors name the file and the key (as the model renders its locations), unknown
    keys the closest of the model's known names."""
    try:
        return model.model_validate(data)
    except ValidationError as err:
        names = model.known_names()
        lines = []
        for e in err.errors():
            at = model.location(name, tuple(e["loc"]))
            if e["type"] == "extra_forbidden":
                close = difflib.get_close_matches(str(e["loc"][-1]), names, n=1)
                hint = f"; did you mean {model.suggestion(name, close[0])}?" if close else ""
                lines.append(f"unknown key {at}{hint}")
            else:
                got = f" (got {e.get('input')!r})" if e["loc"] else ""
                lines.append(f"{at}: {e['msg'].removeprefix('Value error, ')}{got}")
        raise ConfigError(f"{source}: invalid {name} section:\n  " + "\n  ".join(lines)) from None


def from_dict(d: dict[str, Any], source: str = "<dict>", base_dir: Path | None = None) -> Config:
    """Validate a config: its own sections first (errors under `invalid config`), then each
    stage section with its model (errors under `invalid <name> section`). A plug-in metric's
    file is read from `base_dir` (default: the folder of `source` where it is a file, else
    the working folder): a config made from another (a tune trial's) passes the other's."""
    sections = {n: d[n] for n in STAGE_SECTIONS if isinstance(d.get(n), dict)}
    try:
        cfg = Config.model_validate({**d, **dict.fromkeys(sections)})
    except ValidationError as e:
        raise _explain(e, source) from None
    cfg.source = source
    for name, data in sections.items():
        setattr(cfg, name, parse_section(source, name, STAGE_SECTIONS[name], data))
    try:  # where the run's folder lies depends on the kind, which the stage sections decide
        check_run_name(cfg.name, cfg.competition.name, cfg.kind.run_folder)
    except ValueError as e:
        raise ConfigError(f"{source}: invalid config:\n  name: {e}") from None
    metric = cfg.competition.metric
    if not isinstance(metric, str) and metric is not None:
        where = Path(source)
        if base_dir is None:
            base_dir = where.parent if where.is_file() else Path.cwd()
        try:
            metric.resolve(base_dir)
        except ValueError as e:
            raise ConfigError(f"{source}: {e}") from None
    return cfg


def load_config(path: str | Path, overrides: list[str] | None = None) -> Config:
    """Load a YAML config, apply `key=value` overrides, validate. Errors name file and key."""
    d = read_yaml(Path(path))
    d.setdefault("name", Path(path).stem)  # an experiment is named after its file by default
    d = apply_overrides(d, overrides or [])
    return from_dict(d, source=str(path))


def save_resolved(cfg: Config, path: Path) -> None:
    atomic_write_text(path, yaml.safe_dump(cfg.resolved(), sort_keys=False))


def load_related(path: Path, like: Config) -> Config:
    """A config named by another (an ensemble's member, a student's teacher), read where
    `like` looks for data, runs and submissions (its `paths`, overrides included), so that
    both see the same files."""
    p = like.paths
    return load_config(
        path, [f"paths.runs={p.runs}", f"paths.data={p.data}", f"paths.submissions={p.submissions}"]
    )
