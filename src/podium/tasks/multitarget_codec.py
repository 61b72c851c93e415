"""The submission codec of a multitarget task: which sample-submission column holds which
(target, class) probability. By default column `<target>_<class>` (RSNA 2023's
`bowel_healthy, bowel_injury, kidney_healthy, ...`); `competition.targets.<t>.columns` maps
classes to other names; a binary target may also have one column named `<target>` (its
positive class, Kaggle's binary layout). Every sample column must map to a (target, class),
and every target must have a column for all its classes but at most one (read back as one
minus the others): anything else is a one-line DataError naming the column.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from podium.errors import DataError
from podium.tasks.capabilities import SubmissionCodec
from podium.tasks.multitarget_schema import Target


def column_owners(targets: list[Target]) -> dict[str, tuple[int, int]]:
    """Every column name a sample may use -> (target index, class index)."""
    owners: dict[str, tuple[int, int]] = {}
    for j, target in enumerate(targets):
        for c, cls in enumerate(target.classes):
            owners[target.columns[cls]] = (j, c)
        if target.kind == "binary":
            owners.setdefault(target.name, (j, 1))
    return owners


def map_columns(targets: list[Target], columns: list[str], source: str) -> dict[str, int]:
    """Sample column -> its prediction column index, checked both ways (see the module)."""
    owners = column_owners(targets)
    unknown = [c for c in columns if c not in owners]
    if unknown:
        raise DataError(
            f"{source}: column {unknown[0]!r} maps to no (target, class) of "
            f"{[t.name for t in targets]}; expected e.g. {list(owners)[:4]} "
            "(competition.targets.<target>.columns maps classes to columns)"
        )
    seen: dict[int, set[int]] = {}
    for c in columns:
        j, k = owners[c]
        seen.setdefault(j, set()).add(k)
    for j, target in enumerate(targets):
        lacking = [cls for k, cls in enumerate(target.classes) if k not in seen.get(j, set())]
        if len(lacking) > 1:
            raise DataError(
                f"{source}: no column for target {target.name!r} class {lacking[0]!r} "
                f"(expected {target.columns[lacking[0]]!r}; "
                f"competition.targets.{target.name}.columns maps classes to columns)"
            )
    return {c: targets[owners[c][0]].offset + owners[c][1] for c in columns}


class MultitargetSubmission(SubmissionCodec):
    """Probabilities in the sample's columns, and back for `podium score`."""

    def __init__(self, targets: list[Target]) -> None:
        self.targets = targets

    def values(self, pred: np.ndarray, columns: list[str]) -> dict[str, np.ndarray]:
        where = map_columns(self.targets, columns, "sample_submission")
        return {c: np.asarray(pred)[:, i] for c, i in where.items()}

    def check_column(self, values: pd.Series, column: str, source: str) -> None:
        num = pd.to_numeric(values, errors="coerce")
        bad = num.isna() | (num < 0) | (num > 1)
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(
                f"{source}: line {i + 2}, column {column!r} = {values.iloc[i]!r} is not a "
                "probability in [0, 1]"
            )

    def predictions(self, sub: pd.DataFrame, columns: list[str]) -> np.ndarray:
        where = map_columns(self.targets, columns, "submission")
        width = sum(t.width for t in self.targets)
        pred = np.full((len(sub), width), np.nan)
        for c, i in where.items():
            pred[:, i] = sub[c].astype(float).to_numpy()
        for target in self.targets:  # the one class without a column: one minus the others
            block = pred[:, target.block]
            gap = np.isnan(block).all(axis=0)
            if gap.any():
                block[:, gap] = np.clip(1.0 - np.nansum(block, axis=1, keepdims=True), 0.0, 1.0)
            pred[:, target.block] = block
        return pred
