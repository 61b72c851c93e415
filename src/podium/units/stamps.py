"""A unit's record: what a fold x seed unit is trained from, so that training skips a fresh
unit (and refuses one made from other inputs) and predictions refuse a stale one.

The parts: the training config (values that differ from the defaults), folds.csv, the train
ids and labels, the train images (path and content), the extra rows (pseudo-labels, a
distillation teacher's units), the external tables (`data.external`: rows that join every
fold's training set, podium.units.external), the metadata a network reads and the content
of `model.weights` (a file replaced under the same name is noticed). Written by
`podium.units.train`, read by `podium.units.predict` (and so by every prediction file).

Segmentation's probability maps (`podium.mask_units`) are stamped by `mask_oof_stamp` and
`mask_infer_stamp`: the units' records and the prediction settings (and the test images),
here so that the board judges their freshness as the stages do.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from podium.artifacts import file_hash, read_json
from podium.config import Config
from podium.errors import ArtifactError
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
    if exp.cfg.model.weights:  # the starting weights' content, not only their file name
        parts["weights"] = weights_hash(Path(exp.cfg.model.weights))
    return Stamp(exp.unit_dir(fold, seed) / "result.json", parts)


def weights_hash(path: Path) -> str:
    """The content hash of a `model.weights` file, computed once per version of the file
    however many units ask (weights files are large): a version is its inode, size, mtime and
    ctime (which a rewrite changes even when the mtime is set back)."""
    try:
        st = path.stat()
    except OSError:
        return f"missing: {path}"  # validation names the missing file before training
    version = (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    return _content_hash(str(path.resolve()), version)


@lru_cache(maxsize=16)
def _content_hash(path: str, version: tuple[int, ...]) -> str:
    return file_hash(path)


def _mask_units(exp: Experiment, every_fold: bool) -> dict[str, Any]:
    """The trained units' fingerprints (every fold's for OOF: it covers every train row) and
    the prediction settings; a unit not trained yet is an ArtifactError naming it."""
    units = {}
    folds = range(exp.cfg.folds.n_splits) if every_fold else exp.cfg.fold_ids()
    for f, s in ((f, s) for f in folds for s in exp.cfg.train.seeds):
        path = exp.unit_dir(f, s) / "result.json"
        if not path.is_file():
            raise ArtifactError(f"{path}: run `podium train -c {exp.cfg.source}`")
        units[f"{f}/{s}"] = read_json(path).get("fingerprint", "")
    return {"units": units, "infer": exp.cfg.infer.model_dump(mode="json")}


def mask_oof_stamp(exp: Experiment) -> Stamp:
    return Stamp(exp.run_dir / "oof.json", _mask_units(exp, every_fold=True))


def mask_infer_stamp(exp: Experiment) -> Stamp:
    parts = {**_mask_units(exp, every_fold=False), "images": exp.comp.images_fingerprint("test")}
    return Stamp(exp.run_dir / "infer.json", parts)
