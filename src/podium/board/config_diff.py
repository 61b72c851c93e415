"""What an experiment changes: the keys its YAML file sets to other values than the files it
`extends:` (merged as podium merges them), e.g. `model.name: resnet18d`, `train.seeds: [0, 1]`.
Lists compare whole; `name` is left out (every file has its own)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from podium.config import deep_merge, read_yaml
from podium.errors import ConfigError

_MISSING = object()


def flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in d.items():
        if isinstance(value, dict) and value:
            out |= flatten(value, f"{prefix}{key}.")
        else:
            out[f"{prefix}{key}"] = value
    return out


@lru_cache(maxsize=256)
def _read(path: str, mtime_ns: int) -> dict[str, Any]:
    """read_yaml, once per file version: 50 experiments extend the same bases. Callers only
    merge the result (podium's deep_merge builds new dicts), never change it."""
    return read_yaml(Path(path))


def _merged(path: Path) -> dict[str, Any]:
    return _read(str(path.resolve()), path.stat().st_mtime_ns)


def config_diff(path: Path) -> list[tuple[str, Any]] | None:
    """[(dotted key, value)] that `path` changes from its bases; None where it extends
    nothing (then every key is its own) or does not read."""
    try:
        raw = yaml.safe_load(Path(path).read_text()) or {}
        parents = raw.get("extends") or []
        parents = [parents] if isinstance(parents, str) else list(parents)
        if not parents:
            return None
        base: dict[str, Any] = {}
        for parent in parents:
            base = deep_merge(base, _merged(Path(path).parent / parent))
        own = flatten(_merged(Path(path)))
    except (OSError, yaml.YAMLError, ConfigError, TypeError):
        return None
    flat_base = flatten(base)
    return [(k, v) for k, v in own.items() if k != "name" and flat_base.get(k, _MISSING) != v]


def show_value(value: Any) -> str:
    """A value as YAML flow style on one line (`[0, 1]`, `{p: 0.5}`)."""
    text = yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
    return text.removesuffix("\n...").removesuffix("...").strip()
