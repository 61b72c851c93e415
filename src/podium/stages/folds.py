"""`podium folds`: assign every train row to a fold, once per competition. Every experiment
reads the same runs/<comp>/folds.csv and records its hash.

`folds.json` stamps what the folds were made from: the settings, the train ids, the
stratification key (labels) and the groups. Re-running is a no-op while they match; when they
no longer do (a label fixed, rows added) the stage refuses, naming what changed, because new
folds mean retraining every experiment: `--force` re-splits.
"""

from __future__ import annotations

import logging

import numpy as np

from podium.artifacts import file_hash, write_csv
from podium.competition import Competition
from podium.config import Config
from podium.errors import DataError
from podium.fingerprint import Stamp, config_part, values_fingerprint
from podium.folds import assign_folds, read_folds

_log = logging.getLogger(__name__)


def stamp(cfg: Config, comp: Competition) -> Stamp:
    """What the split reads: its settings, the ids, and the labels or groups it balances."""
    method, c = cfg.folds.method, comp.cfg
    parts = {"settings": config_part(cfg.folds), "ids": values_fingerprint(comp.train_ids)}
    if method in ("stratified", "stratified_group"):
        parts["labels"] = values_fingerprint(comp.task.folds.stratify_key(comp.targets))
    if method in ("group", "stratified_group") and c.group_column:
        parts["groups"] = values_fingerprint(comp.train[c.group_column])
    return Stamp(cfg.folds_path.with_suffix(".json"), parts)


def run(cfg: Config, force: bool = False) -> None:
    comp = Competition.from_config(cfg)
    path = cfg.folds_path
    record = stamp(cfg, comp)
    if path.exists() and not force:
        read_folds(path, comp)  # still matches train.csv's ids
        if not record.fresh([path]):
            raise DataError(
                f"{path} was made from other {' and '.join(record.changed())} than now (the "
                "folds settings, or train.csv's ids, labels or groups); every experiment of a "
                "competition shares one folds file: run `podium folds --force` and retrain"
            )
        _log.info("folds: %s is up to date (hash %s)", path, file_hash(path))
        return
    folds = assign_folds(comp, cfg.folds)
    write_csv(path, folds)
    record.write(settings=cfg.folds.model_dump(), hash=file_hash(path))
    sizes = np.bincount(folds["fold"], minlength=cfg.folds.n_splits).tolist()
    _log.info(
        "folds: wrote %s (%s, %d folds, sizes %s, hash %s)",
        path,
        cfg.folds.method,
        cfg.folds.n_splits,
        sizes,
        file_hash(path),
    )
