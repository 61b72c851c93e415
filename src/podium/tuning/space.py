"""The search space at work: a trial's suggestions (conditional parameters only where their
`when:` holds), and the mapping from chosen values to a config, in the same nested form as
the best-parameters overlay that an experiment `extends:`, so a trial and a later
`podium train` on the overlay see the very same config."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import optuna

from podium.config import Config, ConfigError, deep_merge, from_dict
from podium.config.tune import CategoricalParam, FloatParam, IntParam, Param


def suggest(trial: optuna.Trial, space: dict[str, Param]) -> dict[str, Any]:
    """Ask the trial for every active parameter, in declaration order (conditions read the
    values chosen above them). Returns {name: value} of the active ones."""
    chosen: dict[str, Any] = {}
    for name, p in space.items():
        if not p.active(chosen):
            continue
        if isinstance(p, FloatParam):
            chosen[name] = trial.suggest_float(name, p.low, p.high, step=p.step, log=p.log)
        elif isinstance(p, IntParam):
            chosen[name] = trial.suggest_int(name, p.low, p.high, step=p.step, log=p.log)
        else:
            chosen[name] = trial.suggest_categorical(name, p.choices)
    return chosen


def config_values(params: dict[str, Any]) -> dict[str, Any]:
    """The parameters that are config keys (dotted); plain-named switches drop out."""
    return {k: v for k, v in params.items() if "." in k}


def nest(params: dict[str, Any]) -> dict[str, Any]:
    """{'train.lr': 0.01, 'model.drop_rate': 0.1} -> {'train': {'lr': 0.01}, 'model': {...}}"""
    out: dict[str, Any] = {}
    for key, value in config_values(params).items():
        *parents, leaf = key.split(".")
        node = out
        for k in parents:
            node = node.setdefault(k, {})
        node[leaf] = value
    return out


def with_params(
    base: dict[str, Any], params: dict[str, Any], source: str, base_dir: Path | None = None
) -> Config:
    """`base` (a resolved config dict) with the parameters merged in as an overlay would be;
    `base_dir`: where the tuned config read its plug-in metric's file (`Config.base_dir`)."""
    merged = deep_merge(json.loads(json.dumps(base)), nest(params))
    return from_dict(merged, source=source, base_dir=base_dir)


def check_space(
    base: dict[str, Any], space: dict[str, Param], source: str, base_dir: Path | None = None
) -> None:
    """Fail before the first trial when a parameter is not a config key, or one of its
    bounds / choices is a value the config refuses (e.g. train.lr low: 0)."""
    for name, p in space.items():
        if "." not in name:
            continue
        for value in p.probe_values():
            try:
                with_params(base, {name: value}, source, base_dir)
            except ConfigError as e:
                detail = str(e).split("\n", 1)[-1].strip()
                raise ConfigError(
                    f"{source}: tune.space[{name!r}] = {value!r} makes an invalid config: {detail}"
                ) from None


def describe(space: dict[str, Param]) -> str:
    """One line per parameter, for the start-of-study banner."""
    lines = []
    for name, p in space.items():
        if isinstance(p, CategoricalParam):
            what = f"one of {p.choices}"
        else:
            scale = " log" if p.log else (f" step {p.step}" if p.step not in (None, 1) else "")
            what = f"{p.type} [{p.low}, {p.high}]{scale}"
        gate = f"  when {p.when}" if p.when else ""
        lines.append(f"  {name}: {what}{gate}")
    return "\n".join(lines)
