"""Where every artifact lives and how it is written: atomically (temp file + rename), so a
killed process never leaves a half-written file that a later stage would trust; and read
back with checks (the fold hash, the ids) so artifacts made on different folds never mix.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd


class ArtifactError(RuntimeError):
    """An artifact is missing, or was made under different folds or ids."""


@contextmanager
def atomic_path(path: Path | str):
    """Yield a temp path beside `path`; rename it over `path` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def atomic_write_text(path: Path | str, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_json(path: Path | str, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=float) + "\n")


def read_json(path: Path | str) -> Any:
    return json.loads(Path(path).read_text())


def write_parquet(path: Path | str, df: pd.DataFrame) -> None:
    with atomic_path(path) as tmp:
        df.to_parquet(tmp, index=False)


def write_csv(path: Path | str, df: pd.DataFrame) -> None:
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)


def save_with(path: Path | str, writer: Callable[[Path], None]) -> None:
    """Atomically write a file through a library's own saver (torch.save, xgb save_model)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        # keep the suffix: XGBoost picks JSON or UBJ from it
        target = tmp.with_suffix(path.suffix)
        writer(target)
        os.replace(target, tmp)


def file_hash(path: Path | str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def require(path: Path, what: str, how: str) -> Path:
    if not path.exists():
        raise ArtifactError(f"{what} not found: {path}\n  make it first with: {how}")
    return path


# ---- prediction files (one schema for experiments and ensembles) ---------------------------

PROBA_PREFIX = "p_"


def proba_columns(classes: list[str]) -> list[str]:
    return [f"{PROBA_PREFIX}{c}" for c in classes]


def read_predictions(path: Path, classes: list[str], what: str) -> pd.DataFrame:
    df = pd.read_parquet(path)
    missing = [c for c in proba_columns(classes) if c not in df.columns]
    if missing:
        raise ArtifactError(f"{path}: {what} lacks columns {missing}")
    return df


def check_folds_hash(run_dir: Path, folds_hash: str) -> None:
    """Refuse to add to a run that was made on a different folds.csv."""
    meta = run_dir / "run.json"
    if meta.exists():
        recorded = read_json(meta).get("folds_hash")
        if recorded and recorded != folds_hash:
            raise ArtifactError(
                f"{run_dir} was made with folds hash {recorded}, but folds.csv now hashes to "
                f"{folds_hash}; use a new experiment name or --force to start over"
            )
