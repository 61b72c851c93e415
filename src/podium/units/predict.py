"""Predicting with trained units: the model rebuilt from the run's config and the weights
oof/infer use (`train.checkpoint`: best, last, swa, or snapshots: each cycle's snapshot,
merged like seeds), on the resolved device; the logits of every TTA view, which the task
merges."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import torch

from podium.artifacts import read_json
from podium.data.device import Normalizer
from podium.engine.checkpoint import checkpoint_members, inference_state
from podium.engine.network import create_network
from podium.engine.precision import Precision, resolve_device, resolve_precision
from podium.engine.predict import predict_logits
from podium.errors import ArtifactError
from podium.experiment import Experiment
from podium.fingerprint import Stamp
from podium.series.studies import StudyLayout
from podium.tasks import Task
from podium.units.stamps import unit_stamp


def prediction_settings(exp: Experiment) -> dict:
    """What a prediction file depends on besides the weights: a change means recompute."""
    cfg = exp.cfg
    return {
        "tta": cfg.infer.tta,
        "merge": cfg.infer.merge,
        "checkpoint": cfg.train.checkpoint,
        "seeds": cfg.train.seeds,
    }


def trained_fingerprints(exp: Experiment, folds: list[int]) -> dict[str, str]:
    """{"fold{k}/seed{s}": fingerprint} of the units predictions read: they fingerprint the
    prediction files. A unit not trained, or trained from other inputs than its stamp now
    says, is refused with the command that makes it."""
    out, missing = {}, []
    for f in folds:
        for s in exp.cfg.train.seeds:
            path = exp.unit_dir(f, s) / "result.json"
            if not path.exists():
                missing.append((f, s))
                continue
            record = read_json(path)
            today = unit_stamp(exp, f, s).parts
            changed = [
                k for k, v in today.items() if k != "extra" and record.get("parts", {}).get(k) != v
            ]
            if changed:
                raise ArtifactError(
                    f"{path.parent}: trained from other inputs than today's ({', '.join(changed)} "
                    f"changed); retrain it: podium train -c {exp.cfg.source} --force"
                )
            out[f"fold{f}/seed{s}"] = record["fingerprint"]
    if missing:
        raise ArtifactError(
            f"{exp.run_dir}: units (fold, seed) {missing} are not trained; run "
            f"`podium train -c {exp.cfg.source}` first"
        )
    return out


def infer_stamp(exp: Experiment) -> Stamp:
    """What test.parquet was made from (`podium infer` writes it; `podium export` checks it)."""
    folds = exp.cfg.fold_ids()
    return Stamp(
        exp.run_dir / "infer.json",
        {
            "units": trained_fingerprints(exp, folds),
            "settings": prediction_settings(exp),
            "predicted_folds": folds,
            "test": [list(exp.comp.test_ids), exp.comp.images_fingerprint("test")],
            # the test table's metadata, where the network reads it (else no part: unchanged)
            **({"metadata": exp.metadata_fingerprint("test")} if exp.metadata_layout else {}),
        },
    )


def oof_stamp(exp: Experiment) -> Stamp:
    """What oof.parquet and scores.json were made from (`podium oof` writes them; `podium
    export` checks them where the submission decides with scores.json)."""
    folds = list(range(exp.cfg.folds.n_splits))
    return Stamp(
        exp.run_dir / "oof.json",
        {
            "units": trained_fingerprints(exp, folds),
            "settings": prediction_settings(exp),
            "folds": exp.folds_hash,
            "labels": exp.comp.labels_fingerprint,
        },
    )


def merge_test(task: Task, logits: dict[int, np.ndarray], how: str) -> np.ndarray:
    """test.parquet's predictions: every fold's units' views merged at once (`infer.merge`)."""
    return task.merge(np.concatenate(list(logits.values())), how)


class UnitPredictor:
    """Predicts with each unit's weights in turn, reusing one model and one device path."""

    def __init__(self, exp: Experiment) -> None:
        cfg = exp.cfg
        self.exp = exp
        self.device = resolve_device(cfg.train.device)
        self.precision: Precision = resolve_precision(self.device, cfg.train.precision)
        # architecture only: the unit's state dict replaces any pretrained weights
        # (with metadata, its statistics are buffers of each unit's state dict too)
        network = create_network(
            cfg, exp.task.num_outputs, exp.metadata_layout, pretrained=False, weights=None
        )
        self.model = network.to(self.device).eval()
        if cfg.train.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.normalize = Normalizer(
            cfg.data.mean, cfg.data.std, self.device, cfg.train.channels_last, cfg.data.image_size
        )

    def logits(
        self,
        fold: int,
        seed: int,
        images: np.ndarray,
        views: list[str],
        checkpoint: str | None = None,
        metadata: np.ndarray | None = None,
    ) -> np.ndarray:
        """(V, N, C) logits of unit (fold, seed) on `images` (and their raw `metadata` rows
        when the network reads metadata), one slice per TTA view."""
        state = inference_state(
            self.exp.unit_dir(fold, seed), checkpoint or self.exp.cfg.train.checkpoint
        )
        self.model.load_state_dict(state)
        batch = self.exp.cfg.infer.batch_size
        return predict_logits(
            self.model, images, self.normalize, self.precision, views, batch, metadata
        )

    def members(self, checkpoint: str | None = None) -> list[str]:
        """The weights each unit predicts with: one, or each snapshot (`snapshots`)."""
        cfg = self.exp.cfg.train
        return checkpoint_members(checkpoint or cfg.checkpoint, cfg.cycles)

    def per_seed(
        self,
        fold: int,
        images: np.ndarray,
        views: list[str],
        checkpoint: str | None = None,
        metadata: np.ndarray | None = None,
        studies: StudyLayout | None = None,
    ) -> Iterator[np.ndarray]:
        """(V, N, C) logits per seed, and per snapshot within a seed (`snapshots`): the
        members that are merged. With `studies`, `images` are series and each member is
        `studies.replicas` (V, N_studies, C) members, replica-major (member j of study r is
        one of its series: their merge is the mean over the study's series)."""
        blocks = (
            self.logits(fold, seed, images, views, weights, metadata)
            for seed in self.exp.cfg.train.seeds
            for weights in self.members(checkpoint)
        )
        if studies is None:
            yield from blocks
            return
        # replica-major, so every snapshot j keeps the indices j, j + K, ... of `oof`
        per_unit = [list(studies.members(b)) for b in blocks]
        for j in range(studies.replicas):
            yield from (replicas[j] for replicas in per_unit)

    def test_logits(
        self,
        images: np.ndarray,
        on_model: Callable[[], None] | None = None,
        metadata: np.ndarray | None = None,
        checkpoint: str | None = None,
        studies: StudyLayout | None = None,
    ) -> dict[int, np.ndarray]:
        """{fold: (S*V, N, C) logits} of every unit of the config's folds on `images` (and
        their raw `metadata` rows, where the network reads them) with the config's TTA views:
        what `infer` (and `podium predict`) merge; `on_model` is called after each set of
        weights (a progress bar). `checkpoint` replaces `train.checkpoint` (a teacher's).
        With `studies` (`exp.test_studies`), `images` are series merged per study."""
        cfg = self.exp.cfg
        out, n_units = {}, len(cfg.train.seeds) * len(self.members(checkpoint))
        for k in cfg.fold_ids():
            blocks = []
            units = self.per_seed(k, images, cfg.infer.tta, checkpoint, metadata, studies)
            for i, block in enumerate(units):
                blocks.append(block)
                if on_model is not None and i < n_units:  # with studies: replica 0's
                    on_model()
            out[k] = np.concatenate(blocks)
        return out

    def n_models(self) -> int:
        """How many sets of weights `test_logits` runs (folds x seeds x snapshots)."""
        cfg = self.exp.cfg
        return len(cfg.fold_ids()) * len(cfg.train.seeds) * len(self.members())


def valid_predictions(exp: Experiment, folds: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """(rows, predictions) of the validation rows of `folds`, each fold's rows predicted by
    that fold's units (seeds, snapshots and the config's TTA views merged as oof merges
    them): what a study's holdout scores pooled. `rows` index the train table."""
    task, cfg = exp.task, exp.cfg
    predictor = UnitPredictor(exp)
    rows = np.flatnonzero(np.isin(exp.fold_of_row, folds))
    out: np.ndarray | None = None
    for k in folds:
        mine = np.flatnonzero(exp.fold_of_row[rows] == k)
        meta = exp.train_metadata[rows[mine]] if exp.train_metadata is not None else None
        images, studies = exp.train_rows(rows[mine])
        blocks = list(predictor.per_seed(k, images, cfg.infer.tta, None, meta, studies))
        merged = task.merge(np.concatenate(blocks), cfg.infer.merge)
        if out is None:  # the merged width is the task's (an expectation head: one grade)
            out = np.zeros((len(rows), *merged.shape[1:]), merged.dtype)
        out[mine] = merged
    assert out is not None, "valid_predictions needs at least one fold"
    return rows, out
