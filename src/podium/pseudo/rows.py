"""`pseudo.parquet`, written from the teacher's predictions and read back as the extra
training rows of one student fold.

    id          test id, or an extra image's path inside its folder (without suffix)
    source      'test' or 'extra'
    fold        the student fold that may train on it; -1 = every fold (all-folds teacher)
    label       the label the teacher gives it (for classification, its top class)
    confidence  the teacher's confidence (for classification, its top probability)
    <columns>   the training target in the task's prediction columns: the task's hard or
                soft pseudo-target (one-hot or the teacher's probabilities)
    weight      the row's loss weight

Selection runs per student fold over the whole pool (test + extra), so caps and top
fractions count both sources together.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from podium.competition import Competition
from podium.config.pseudo import PseudoConfig
from podium.engine.trainer import TrainRows
from podium.errors import ArtifactError, ConfigError
from podium.experiment import Experiment
from podium.pseudo.pool import load_extra_images
from podium.pseudo.select import pseudo_weights, select_rows
from podium.tasks import Task

SOURCES = ("test", "extra")


@dataclass
class Pool:
    """Unlabelled rows and the teacher's predictions for them, keyed by student fold."""

    ids: np.ndarray
    source: np.ndarray
    by_fold: dict[int, np.ndarray]  # fold (-1 = all) -> (N, K) predictions


def pseudo_labels(task: Task) -> list[str]:
    """Every label a pseudo row of `task` can get (validation refuses a pseudo: section for a
    task that makes none)."""
    assert task.pseudo is not None, f"a {task.name} task makes no pseudo-labels"
    return task.pseudo.label_names


def pseudo_frame(pool: Pool, section: PseudoConfig, comp: Competition) -> pd.DataFrame:
    task, pseudo = comp.task, comp.task.pseudo
    assert pseudo is not None  # validation refuses a pseudo: section for a task without it
    frames = []
    for fold, pred in pool.by_fold.items():
        cands = pseudo.candidates(pred)
        rows = select_rows(cands, section)
        frame = pd.DataFrame(
            {
                "id": pool.ids[rows],
                "source": pool.source[rows],
                "fold": np.full(len(rows), fold, np.int64),
                "label": cands.label[rows],
                "confidence": cands.confidence[rows],
            }
        )
        frame[task.columns] = pseudo.targets(pred[rows], section.soft)
        frame["weight"] = pseudo_weights(cands.confidence[rows], section)
        frames.append(frame)
    out = pd.concat(frames, ignore_index=True)
    out["id"] = out["id"].astype(str)
    out["label"] = out["label"].astype(str)
    if out.empty:  # a student trained on no pseudo row is the teacher's recipe retrained
        raise ConfigError(no_rows_message(pool, section, comp))
    return out


def no_rows_message(pool: Pool, section: PseudoConfig, comp: Competition) -> str:
    """Why no unlabelled row passes the selection in any fold, naming the key to change."""
    assert comp.task.pseudo is not None
    top = max(float(comp.task.pseudo.candidates(p).confidence.max()) for p in pool.by_fold.values())
    head = f"{comp.cfg.name}: no pseudo-labels: none of {len(pool.ids)} unlabelled rows passes"
    if section.threshold is not None and section.threshold > top:
        return (
            f"{head} pseudo.threshold {section.threshold:g} in any fold (the teacher's highest "
            f"confidence is {top:.4f}); lower pseudo.threshold"
        )
    return (
        f"{head} the selection in any fold (pseudo.threshold {section.threshold}, top_fraction "
        f"{section.top_fraction}, max_per_class {section.max_per_class}, balance "
        f"{section.balance}: balance caps every class at the smallest's count); loosen them"
    )


class PseudoRows:
    """`for_fold(k)`: the pseudo rows student fold k trains on, as TrainRows (or None)."""

    def __init__(
        self,
        exp: Experiment,
        frame: pd.DataFrame,
        path: Path,
        extra_files: list[Path],
        extra_ids: np.ndarray,
    ) -> None:
        self.exp, self.frame, self.path = exp, frame, path
        self.extra_files, self.extra_ids = extra_files, extra_ids
        self._extra_images: np.ndarray | None = None

    def _positions(self, ids: np.ndarray, known: np.ndarray, source: str) -> np.ndarray:
        index = pd.Index(known)
        pos = index.get_indexer(pd.Index(ids))
        if (pos < 0).any():
            bad = ids[pos < 0][0]
            raise ArtifactError(
                f"{self.path}: {source} id {bad!r} is not in the current {source} pool; the data "
                "changed since the pseudo-labels were made: re-run with --force"
            )
        return pos

    def images_of(self, rows: pd.DataFrame) -> np.ndarray:
        # the cache's own channels: 3 for RGB, a series' depth, a volume's slices
        out = np.empty((len(rows), *self.exp.test_images.shape[1:]), np.uint8)
        is_test = (rows["source"] == "test").to_numpy()
        ids = rows["id"].to_numpy()
        if is_test.any():
            pos = self._positions(ids[is_test], self.exp.comp.test_ids, "test")
            out[is_test] = self.exp.test_images[pos]
        if (~is_test).any():
            if self._extra_images is None:
                self._extra_images = load_extra_images(self.exp, self.extra_files)
            pos = self._positions(ids[~is_test], self.extra_ids, "extra")
            out[~is_test] = self._extra_images[pos]
        return out

    def for_fold(self, fold: int) -> TrainRows | None:
        rows = self.frame[self.frame["fold"].isin([fold, -1])]
        if rows.empty:
            return None
        return TrainRows(
            self.images_of(rows),
            rows[self.exp.task.columns].to_numpy(np.float32),
            rows["weight"].to_numpy(np.float32),
        )
