"""Fitted tabular models on disk without pickle: a scikit-learn estimator is its class (from
a fixed registry, never a name imported at load time) plus its attributes, the arrays in an
`.npz` read with `allow_pickle=False` and the plain values (numbers, strings, tuples) in a
JSON file; XGBoost models use XGBoost's own JSON. Stored this way: svc, logistic and the
value tasks' regressors ridge (coef_, intercept_) and svr (support vectors, dual
coefficients, intercept), each alone or behind `standardize`'s scaler, and a multilabel
task's one-vs-rest wrapper of them (its models stored the same way, nested). An estimator
holding anything else (the trees of a forest, the KD-tree of a k-NN, an XGBoost booster
inside one-vs-rest) has no safe form here and is refused by name.

Reloading sets the attributes on a bare instance, exactly what unpickling would do, so the
reloaded model predicts the same numbers as the fitted one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.multiclass import OneVsRestClassifier, _ConstantPredictor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import LabelBinarizer, StandardScaler
from xgboost import XGBClassifier

from podium.artifacts import atomic_write_text, save_with
from podium.errors import ArtifactError
from podium.tabular.estimators import MODELS

# the classes a stored model may name: the registry's, the scaler of `standardize`, and what
# a multilabel task's one-vs-rest wrapper holds (a label seen with one value in a fold gets
# scikit-learn's constant predictor)
CLASSES: dict[str, type] = {
    **{cls.__name__: cls for cls, _, _ in MODELS.values()},
    "StandardScaler": StandardScaler,
    "OneVsRestClassifier": OneVsRestClassifier,
    "LabelBinarizer": LabelBinarizer,
    "_ConstantPredictor": _ConstantPredictor,
    "Pipeline": Pipeline,
}


class UnsafeModel(ArtifactError):
    """A fitted model with attributes that only pickle could store."""


def _storable(value: Any) -> bool:
    return CLASSES.get(type(value).__name__) is type(value)


def _plain(value: Any, where: str, key: str, arrays: dict[str, np.ndarray]) -> Any:
    """A JSON form of an attribute value: plain values as they are (tuples tagged, to come
    back as tuples); inside a sequence or a nested estimator (one-vs-rest's models), arrays
    go to `arrays` under `key` and estimators are stored like the top one."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic) and value.dtype != object:
        return {"__scalar__": value.item(), "dtype": value.dtype.str}
    if isinstance(value, np.ndarray) and value.dtype != object:
        arrays[key] = value
        return {"__array__": key}
    if _storable(value):
        state, nested = _state(value, where)
        arrays |= {f"{key}/{k}": v for k, v in nested.items()}
        return {"__estimator__": state, "key": key}
    if isinstance(value, (tuple, list)):
        items = [_plain(v, f"{where}[{i}]", f"{key}/{i}", arrays) for i, v in enumerate(value)]
        return {"__tuple__": items} if isinstance(value, tuple) else items
    raise UnsafeModel(f"{where} is a {type(value).__name__}")


def _unplain(value: Any, npz: Any, where: Path) -> Any:
    if isinstance(value, list):
        return [_unplain(v, npz, where) for v in value]
    if not isinstance(value, dict):
        return value
    if "__tuple__" in value:
        return tuple(_unplain(v, npz, where) for v in value["__tuple__"])
    if "__scalar__" in value:
        return np.dtype(value["dtype"]).type(value["__scalar__"])
    if "__array__" in value:
        return npz[value["__array__"]]
    if "__estimator__" in value:
        return _build(value["__estimator__"], npz, f"{value['key']}/", where)
    return value


def _state(model: Any, name: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    cls = type(model).__name__
    if not _storable(model):
        raise UnsafeModel(f"{name}: {cls} is not one of the storable models {sorted(CLASSES)}")
    plain: dict[str, Any] = {}
    arrays: dict[str, np.ndarray] = {}
    nested: dict[str, np.ndarray] = {}
    for key, value in vars(model).items():
        if isinstance(value, np.ndarray) and value.dtype != object:
            arrays[key] = value
        else:
            plain[key] = _plain(value, f"{name}: {cls}.{key}", key, nested)
    return {"class": cls, "attributes": plain, "arrays": sorted(arrays)}, arrays | nested


def _build(state: dict[str, Any], npz: Any, prefix: str, where: Path) -> Any:
    """A bare instance of the state's class with its attributes set (what unpickling does)."""
    cls: Any = CLASSES.get(state["class"])
    if cls is None:
        raise ArtifactError(f"{where}: unknown model class {state['class']!r}")
    est = cls.__new__(cls)
    est.__dict__.update(
        {k: _unplain(_prefixed(v, prefix), npz, where) for k, v in state["attributes"].items()}
    )
    est.__dict__.update({k: npz[f"{prefix}{k}"] for k in state["arrays"]})
    return est


def _prefixed(value: Any, prefix: str) -> Any:
    """An attribute's JSON form with its array / estimator keys made absolute."""
    if isinstance(value, list):
        return [_prefixed(v, prefix) for v in value]
    if not isinstance(value, dict):
        return value
    if "__tuple__" in value:
        return {"__tuple__": [_prefixed(v, prefix) for v in value["__tuple__"]]}
    if "__array__" in value:
        return {"__array__": prefix + value["__array__"]}
    if "__estimator__" in value:
        return {**value, "key": prefix + value["key"]}
    return value


def save_model(model: Any, path: Path) -> list[Path]:
    """`path`.sklearn.json + `path`.npz, or for XGBoost `path`.json (its own format): the
    files written."""
    path = Path(path)
    if isinstance(model, XGBClassifier):
        out = path.with_suffix(".json")
        save_with(out, model.save_model)
        return [out]
    steps = model.steps if isinstance(model, Pipeline) else [("model", model)]
    meta: dict[str, Any] = {"pipeline": isinstance(model, Pipeline), "steps": []}
    arrays: dict[str, np.ndarray] = {}
    for step, est in steps:
        state, arr = _state(est, f"{path.name} step {step!r}")
        meta["steps"].append({"name": step, **state})
        arrays |= {f"{step}/{k}": v for k, v in arr.items()}
    npz = path.with_suffix(".npz")
    save_with(npz, lambda tmp: np.savez(tmp, **arrays))  # type: ignore[arg-type]
    atomic_write_text(path.with_suffix(".sklearn.json"), json.dumps(meta, indent=1))
    return [path.with_suffix(".sklearn.json"), npz]


def model_files(path: Path) -> list[Path]:
    """The files `save_model` wrote for `path` (either form)."""
    path = Path(path)
    npz = path.with_suffix(".npz")
    return [path.with_suffix(".sklearn.json"), npz] if npz.exists() else [path.with_suffix(".json")]


def load_model(path: Path) -> Any:
    """A model stored by `save_model`; a missing file is an ArtifactError naming it."""
    path = Path(path)
    for f in model_files(path):
        if not f.is_file():
            raise ArtifactError(f"tabular model not found: {f}")
    if not path.with_suffix(".npz").exists():
        model = XGBClassifier()
        model.load_model(path.with_suffix(".json"))
        return model
    meta = json.loads(path.with_suffix(".sklearn.json").read_text())
    with np.load(path.with_suffix(".npz"), allow_pickle=False) as npz:
        steps = [(s["name"], _build(s, npz, f"{s['name']}/", path)) for s in meta["steps"]]
    return Pipeline(steps) if meta["pipeline"] else steps[0][1]
