"""The prediction files, written, read and validated in one place, whoever makes them (an
experiment, a tabular member, an ensemble) and whoever reads them (ensemble, pseudo, submit,
the notebooks, the test fakes):

    oof.parquet           id, fold, <target column(s)>, <task columns>   train rows, each predicted
                                                                         by the models of its fold
    test.parquet          id, <task columns>                             test rows, merged
    test_by_fold.parquet  id, fold, <task columns>                       test rows by fold k's
                                                                         models alone (pseudo-labels)

The task names the prediction columns (`p_<class>` for classification). Reading checks the
columns, that the ids are exactly the expected ones (returned in the expected order), the
folds, and that no value is NaN: a stale or foreign file is refused with its path.
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

import numpy as np
import pandas as pd

from podium.artifacts import write_parquet
from podium.errors import ArtifactError
from podium.tasks import Task

OOF, TEST, TEST_BY_FOLD = "oof.parquet", "test.parquet", "test_by_fold.parquet"


def _frame(ids: np.ndarray, task: Task, pred: np.ndarray, **front: np.ndarray) -> pd.DataFrame:
    if pred.shape != (len(ids), len(task.columns)):
        raise ValueError(f"predictions of shape {pred.shape} for {len(ids)} ids x {task.columns}")
    frame = pd.DataFrame({"id": np.asarray(ids).astype(str), **front})
    frame[task.columns] = pred
    return frame


def write_oof(
    path: Path,
    task: Task,
    ids: np.ndarray,
    fold: np.ndarray,
    targets: pd.DataFrame,
    pred: np.ndarray,
) -> None:
    """`targets` holds the target column(s) as written in train.csv (`task.target_frame`)."""
    # target_frame's columns are train.csv header names: strings
    columns = cast(list[str], list(targets.columns))
    front = {"fold": np.asarray(fold, np.int64)} | {c: targets[c].to_numpy() for c in columns}
    write_parquet(path, _frame(ids, task, pred, **front))


def write_test(path: Path, task: Task, ids: np.ndarray, pred: np.ndarray) -> None:
    write_parquet(path, _frame(ids, task, pred))


def write_test_by_fold(
    path: Path, task: Task, ids: np.ndarray, by_fold: dict[int, np.ndarray]
) -> None:
    frames = [_frame(ids, task, p, fold=np.full(len(ids), k, np.int64)) for k, p in by_fold.items()]
    write_parquet(path, pd.concat(frames, ignore_index=True))


def _read(path: Path, task: Task, what: str) -> pd.DataFrame:
    if not Path(path).is_file():
        raise ArtifactError(f"{what} not found: {path}")
    df = pd.read_parquet(path)
    missing = [c for c in ["id", *task.columns] if c not in df.columns]
    if missing:
        raise ArtifactError(
            f"{path}: {what} lacks columns {missing} (made for another task or classes?)"
        )
    df["id"] = df["id"].astype(str)
    return df


def _aligned(df: pd.DataFrame, ids: np.ndarray, task: Task, path: Path, what: str) -> pd.DataFrame:
    """`df`'s rows in the order of `ids`; refuses duplicates, missing or extra ids, and NaN."""
    dup = df["id"][df["id"].duplicated()]
    if len(dup):
        raise ArtifactError(f"{path}: {what} lists id {dup.iloc[0]!r} twice")
    ids = np.asarray(ids).astype(str)
    have = set(df["id"])
    missing = [i for i in ids if i not in have]
    extra = sorted(have - set(ids))
    if missing or extra:
        raise ArtifactError(
            f"{path}: {what} does not cover the expected ids: {len(missing)} missing (e.g. "
            f"{missing[:3]}), {len(extra)} unexpected (e.g. {extra[:3]}); re-run the stage that "
            "makes it on the competition's current data"
        )
    out = df.set_index("id").loc[ids]
    values = out[task.columns].to_numpy(np.float64)
    if np.isnan(values).any():
        row = int(np.flatnonzero(np.isnan(values).any(axis=1))[0])
        raise ArtifactError(f"{path}: {what} has NaN predictions (id {ids[row]!r})")
    return out


def read_oof(
    path: Path, task: Task, ids: np.ndarray, fold: np.ndarray, what: str = "oof predictions"
) -> np.ndarray:
    """(N, len(columns)) predictions in the order of `ids`, checked to use the same `fold`."""
    df = _aligned(_read(path, task, what), ids, task, path, what)
    differs = np.flatnonzero(df["fold"].to_numpy() != np.asarray(fold))
    if len(differs):
        i = int(differs[0])
        raise ArtifactError(
            f"{path}: {what} puts id {ids[i]!r} in fold {int(df['fold'].iloc[i])}, folds.csv in "
            f"fold {int(fold[i])}: it was made on other folds"
        )
    return df[task.columns].to_numpy(np.float64)


def read_test(
    path: Path, task: Task, ids: np.ndarray, what: str = "test predictions"
) -> np.ndarray:
    df = _aligned(_read(path, task, what), ids, task, path, what)
    return df[task.columns].to_numpy(np.float64)


def read_test_by_fold(
    path: Path,
    task: Task,
    ids: np.ndarray,
    folds: list[int] | None,
    what: str = "per-fold test predictions",
) -> dict[int, np.ndarray]:
    """{fold: (N, C)} in `ids`' order for each of `folds` (None: every fold the file has)."""
    df = _read(path, task, what)
    have = set(df["fold"].unique().tolist())
    if folds is None:
        folds = sorted(int(k) for k in have)
    lacking = [k for k in folds if k not in have]
    if lacking:
        raise ArtifactError(f"{path}: {what} has no predictions of fold(s) {lacking}")
    return {
        k: _aligned(df[df["fold"] == k], ids, task, path, f"{what} (fold {k})")[
            task.columns
        ].to_numpy(np.float64)
        for k in folds
    }
