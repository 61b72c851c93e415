"""A unit's record: what a fold x seed unit is trained from, so that training skips a fresh
unit (and refuses one made from other inputs) and predictions refuse a stale one.

The parts: the training config (values that differ from the defaults), folds.csv, the train
ids and labels, the train images (path, size, mtime), the extra rows (pseudo-labels, a
distillation teacher's units), the external tables (`data.external`: rows that join every
fold's training set, podium.units.external) and the metadata a network reads. Written by
`podium.units.train`, read by `podium.units.predict` (and so by every prediction file).
"""

from __future__ import annotations

from typing import Any

from podium.config import Config
from podium.experiment import Experiment
from podium.fingerprint import Stamp, config_part
from podium.units.external import External

# what does not change trained weights: progress bars, the kill hook, which units run,
# which checkpoint predictions use
UNTRAINED_KEYS = {"progress", "stop_after_epoch", "folds", "seeds", "checkpoint"}


def training_config(cfg: Config) -> dict[str, Any]:
    """The config values that shape a unit's weights (non-default ones only)."""
    return {
        "competition": config_part(cfg.competition),
        "data": config_part(cfg.data),
        "model": config_part(cfg.model, exclude={"grad_checkpointing"}),  # same weights
        "train": config_part(cfg.train, exclude=UNTRAINED_KEYS),
        # as written: the hash of a student trained when sections were plain mappings holds
        "pseudo": None if cfg.pseudo is None else cfg.pseudo.as_written(),
    }


def unit_stamp(
    exp: Experiment,
    fold: int,
    seed: int,
    extra: str | None = None,
    external: External | None = None,
) -> Stamp:
    """The record of unit (fold, seed): `extra` fingerprints its extra rows (pseudo.parquet);
    `data.external` tables (read now unless given) are a part only where configured, so the
    stamps of runs without them are unchanged."""
    parts: dict[str, Any] = {
        "config": training_config(exp.cfg),
        "folds": exp.folds_hash,
        "labels": exp.comp.labels_fingerprint,
        "images": exp.comp.images_fingerprint("train"),
        "extra": extra or "",
        "unit": {"fold": fold, "seed": seed},
    }
    if exp.cfg.data.external:
        parts["external"] = (external or External(exp)).fingerprint
    if exp.metadata_layout is not None:  # competition.metadata, read by the network
        parts["metadata"] = exp.metadata_fingerprint("train")
    return Stamp(exp.unit_dir(fold, seed) / "result.json", parts)
