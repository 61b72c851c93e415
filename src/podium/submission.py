"""The submission contract: sample_submission.csv defines the ids, their order, the columns
and what the values must be. A file that breaks it is refused before it is written (submit)
or scored (score), with the first offending row named.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from podium.artifacts import PROBA_PREFIX
from podium.competition import Competition, DataError, read_table


def target_columns(comp: Competition) -> list[str]:
    return [c for c in comp.sample_submission.columns if c != comp.cfg.id_column]


def build_submission(comp: Competition, test: pd.DataFrame) -> pd.DataFrame:
    """Turn test predictions (id, p_<class>...) into sample_submission's shape and order."""
    id_col = comp.cfg.id_column
    sample_ids = comp.sample_submission[id_col]
    missing = sorted(set(sample_ids) - set(test["id"]))
    extra = sorted(set(test["id"]) - set(sample_ids))
    if missing or extra:
        raise DataError(
            f"test predictions do not cover sample_submission's ids: {len(missing)} missing "
            f"(e.g. {missing[:3]}), {len(extra)} unexpected (e.g. {extra[:3]})"
        )
    test = test.set_index("id").loc[sample_ids]
    proba = test[[f"{PROBA_PREFIX}{c}" for c in comp.classes]].to_numpy()
    sub = pd.DataFrame({id_col: sample_ids.to_numpy()})
    columns = target_columns(comp)
    if comp.cfg.submission_format == "label":
        if len(columns) != 1:
            raise DataError(
                f"submission_format=label needs one target column in sample_submission, found {columns}"
            )
        sub[columns[0]] = comp.decode(proba.argmax(1))
    elif binary_target(comp):
        sub[columns[0]] = proba[:, 1]  # Kaggle's binary format: the positive class's probability
    else:
        unknown = [c for c in columns if c not in comp.classes]
        if unknown:
            raise DataError(f"sample_submission columns {unknown} are not classes {comp.classes}")
        index = {c: i for i, c in enumerate(comp.classes)}
        for c in columns:
            sub[c] = proba[:, index[c]]
    return sub


def binary_target(comp: Competition) -> bool:
    """A binary competition whose submission has one column for the positive class
    (`competition.classes[1]`)."""
    columns = target_columns(comp)
    return comp.cfg.task == "binary" and len(columns) == 1 and columns[0] not in comp.classes


def validate_submission(comp: Competition, sub: pd.DataFrame, source: str) -> None:
    """Refuse a submission whose ids, order, columns, dtypes or values do not match."""
    sample = comp.sample_submission
    id_col = comp.cfg.id_column
    if list(sub.columns) != list(sample.columns):
        raise DataError(
            f"{source}: columns {list(sub.columns)} differ from sample_submission's {list(sample.columns)}"
        )
    if len(sub) != len(sample):
        raise DataError(f"{source}: {len(sub)} rows, sample_submission has {len(sample)}")
    ids = sub[id_col].astype(str).to_numpy()
    wrong = np.flatnonzero(ids != sample[id_col].to_numpy())
    if len(wrong):
        i = int(wrong[0])
        raise DataError(
            f"{source}: line {i + 2} has id {ids[i]!r}, sample_submission has {sample[id_col].iloc[i]!r} (ids or order differ)"
        )
    for col in target_columns(comp):
        values = sub[col]
        bad = values.isna() | (values.astype(str).str.strip() == "")
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(f"{source}: line {i + 2}, column {col!r} is empty or NaN")
        if comp.cfg.submission_format == "label":
            unknown = ~values.astype(str).isin(comp.classes)
            if unknown.any():
                i = int(np.flatnonzero(unknown.to_numpy())[0])
                raise DataError(
                    f"{source}: line {i + 2}, column {col!r} = {values.iloc[i]!r} is not a class {comp.classes}"
                )
        else:
            num = pd.to_numeric(values, errors="coerce")
            out = num.isna() | (num < 0) | (num > 1)
            if out.any():
                i = int(np.flatnonzero(out.to_numpy())[0])
                raise DataError(
                    f"{source}: line {i + 2}, column {col!r} = {values.iloc[i]!r} is not a probability in [0, 1]"
                )


def read_submission(path: Path) -> pd.DataFrame:
    """A submission as strings (empty cells NaN); an empty or binary file names itself."""
    return read_table(Path(path), "submission").replace("", np.nan)
