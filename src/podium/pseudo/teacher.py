"""The teacher: an experiment (CNN or tabular) or an ensemble, and its predictions over the
unlabelled pool, keyed by the student fold that may use them.

Leak-free (the default): the student's fold k is validated on train rows of fold k, so its
pseudo-labels must come from models that never saw fold k's labels, i.e. the teacher's fold-k
models alone (`test_by_fold.parquet`). A student trained this way is itself leak-free per
fold, so it can teach the next round (Noisy Student) under the same rule.

Ensembles: the stack's (or weighted blend's) fold-k meta-model is fitted on the members' OOF
rows of the *other* folds, and those rows were predicted by member models trained on fold k.
Fold k's labels thus reach the meta-model, and no per-fold ensemble prediction is clean. The
one combination with no fitted parameters is the equal-weight mean, so the leak-free teacher
of an ensemble is the mean of its members' fold-k predictions (each member checked to be
leak-free itself); the ensemble's chosen candidate (`test.parquet`) is used only with
`all_folds: true`, which leaks and says so.

Weights: a teacher's fold-k models predict with a fixed-schedule checkpoint (`last`, `swa`,
`snapshots`: `podium.units.teacher_weights`), since `best.pt` was chosen on fold k's labels.
When that is not the teacher's own `train.checkpoint`, its `test_by_fold.parquet` was made
with other weights, so the pool is predicted here with the leak-free ones.
`pseudo.teacher_checkpoint: best` accepts the leak (a `PseudoLeakWarning`; the student is
marked leaky).

All-folds (`all_folds: true`): every student fold uses the teacher's `test.parquet` (every
fold's models). Fold k's validation labels then shape the targets the student trains on, so
the student's CV is optimistic; a `PseudoLeakWarning` is issued and the run is marked leaky,
and a leaky student cannot be a leak-free teacher later (unless that round accepts the leak).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from podium.artifacts import file_hash, read_json, require
from podium.config import Config, ConfigError, load_related
from podium.errors import ArtifactError
from podium.experiment import Experiment
from podium.predictions import TEST, TEST_BY_FOLD, read_test, read_test_by_fold
from podium.pseudo.pool import load_extra_images
from podium.pseudo.teacher_folds import (
    predict_test_by_fold,
    predicts_here,
    teaches_with,
    test_by_fold_fingerprint,
)
from podium.tasks import Task
from podium.units.predict import UnitPredictor, trained_fingerprints
from podium.units.teacher_weights import TeacherLeakWarning, TeacherWeights

ALL_FOLDS = -1  # the `fold` of a pseudo row any student fold may use


class PseudoLeakWarning(TeacherLeakWarning):
    """Pseudo-labels that fold k's validation labels influenced: the student's CV is optimistic."""


def warn_leak(student: str, teacher: str) -> None:
    warnings.warn(
        f"pseudo.all_folds: every fold of {student!r} trains on {teacher!r}'s all-folds "
        "predictions, which fold k's validation labels influenced: its CV will be optimistic "
        "(pseudo.all_folds: false gives leak-free per-fold labels)",
        PseudoLeakWarning,
        stacklevel=2,
    )


@dataclass
class Source:
    """One experiment whose prediction files feed the teacher (the teacher, or a member)."""

    cfg: Config
    checkpoint: str | None = None  # pseudo.teacher_checkpoint, as the student asks

    @property
    def name(self) -> str:
        return self.cfg.name

    @property
    def run_dir(self) -> Path:
        return self.cfg.run_dir

    @property
    def is_cnn(self) -> bool:
        return self.cfg.kind.trains_units

    def require_predictions(self) -> None:
        """The prediction files a teacher reads (the pipeline makes them before this stage)."""
        for file in ("run.json", "scores.json", TEST, TEST_BY_FOLD):
            require(
                self.run_dir / file,
                f"teacher {self.name!r} predictions",
                f"podium infer -c {self.cfg.source}",
            )

    @property
    def weights(self) -> TeacherWeights | None:
        """The checkpoint the fold-k units teach with (None: no units, a tabular member's
        fold-k model fitted without fold k); a leak not accepted is a ConfigError."""
        return teaches_with(self.cfg, self.checkpoint) if self.is_cnn else None

    @property
    def leak_free(self) -> bool:
        return self.weights is None or self.weights.leak_free

    def predicts_here(self) -> bool:
        return predicts_here(self.cfg, self.weights)

    def check_folds(self, folds_hash: str) -> None:
        recorded = read_json(self.run_dir / "run.json").get("folds_hash")
        if recorded != folds_hash:
            raise ArtifactError(
                f"teacher {self.name!r} ({self.run_dir}) was trained on folds hash {recorded}, "
                f"the student's folds.csv hashes to {folds_hash}: fold k would not mean the same "
                "rows; retrain the teacher on the current folds"
            )

    @property
    def pseudo_record(self) -> dict | None:
        """The teacher's own pseudo.json when it was a student (rounds, leakiness)."""
        path = self.run_dir / "pseudo.json"
        return read_json(path) if path.exists() else None

    def test_by_fold(self, folds: list[int], ids: np.ndarray, task: Task) -> dict[int, np.ndarray]:
        """Fold k's predictions of the test images by the teacher's fold-k units, with the
        weights it teaches with (test_by_fold.parquet where infer used those)."""
        weights = self.weights
        if weights is not None and predicts_here(self.cfg, weights):
            return predict_test_by_fold(self.cfg, weights, folds)
        what = f"teacher {self.name!r} per-fold test predictions (train and infer every fold)"
        return read_test_by_fold(self.run_dir / TEST_BY_FOLD, task, ids, folds, what)

    def test_all_folds(self, ids: np.ndarray, task: Task) -> np.ndarray:
        return read_test(self.run_dir / TEST, task, ids, f"teacher {self.name!r} test predictions")


@dataclass
class Teacher:
    """The teacher named by `pseudo.teacher`: one experiment, or an ensemble of `members`."""

    cfg: Config
    members: list[Source] = field(default_factory=list)  # an ensemble's; empty otherwise
    checkpoint: str | None = None  # pseudo.teacher_checkpoint, as the student asks

    @property
    def name(self) -> str:
        return self.cfg.name

    @property
    def kind(self) -> str:
        """The teacher's noun, "ensemble" or "experiment", in pseudo.json and messages."""
        return self.cfg.kind.noun

    @property
    def run_dir(self) -> Path:
        return self.cfg.run_dir

    @property
    def sources(self) -> list[Source]:
        """The experiments whose per-fold files feed leak-free labels."""
        return self.members or [Source(self.cfg, self.checkpoint)]

    @property
    def round(self) -> int:
        """0 for a teacher trained on labels only; a student of round r teaches round r + 1."""
        return int(max((s.pseudo_record or {}).get("round", 0) for s in self.sources))

    def require_predictions(self) -> None:
        for s in self.sources:
            s.require_predictions()
        if self.cfg.kind.has_members:
            for file in ("run.json", "scores.json", "test.parquet"):
                require(
                    self.run_dir / file,
                    f"ensemble teacher {self.name!r} output",
                    f"podium ensemble -c {self.cfg.source}",
                )

    def check_leak_free(self) -> None:
        """Every source of per-fold labels teaches leak-free, or its leak is accepted
        (`pseudo.teacher_checkpoint: best`): a ConfigError otherwise."""
        for s in self.sources:
            _ = s.weights

    def leak_free(self, all_folds: bool) -> bool:
        """Fold k's pseudo-labels owe nothing to fold k's labels (pseudo.json: leak_free)."""
        return not all_folds and all(s.leak_free for s in self.sources)

    def checkpoint_note(self, all_folds: bool = False) -> str:
        """Which weights the teacher's fold-k models predict with, for the report."""
        if all_folds:
            return f"its own ({self.cfg.train.checkpoint}), every fold's models: leaks"
        notes = [f"{s.name}: {s.weights.note()}" for s in self.sources if s.weights is not None]
        return "; ".join(notes) or "fold-k models fitted without fold k: leak-free"

    def warn_leaky_weights(self, student: str) -> None:
        """The leak a student accepted (`pseudo.teacher_checkpoint: best`), said out loud."""
        leaky = [s for s in self.sources if not s.leak_free]
        if leaky:
            why = "; ".join(f"{s.name}: {s.weights.why}" for s in leaky if s.weights)
            warnings.warn(
                f"pseudo teacher {[s.name for s in leaky]} of {student!r} teaches with weights "
                f"that fold k's labels chose ({why}), so fold k's pseudo-labels carry fold k's "
                "labels and the student's CV is optimistic; the student is marked leaky "
                "(pseudo.json: leak_free: false). Leave pseudo.teacher_checkpoint unset for a "
                "leak-free student",
                PseudoLeakWarning,
                stacklevel=2,
            )

    def check_folds(self, folds_hash: str) -> None:
        """Teacher (and members) on the student's folds: fold k means the same rows."""
        for s in [Source(self.cfg), *self.members] if self.members else self.sources:
            s.check_folds(folds_hash)

    def predictions_fingerprints(self, all_folds: bool) -> list[str]:
        """What the pseudo-labels are made from (they fingerprint pseudo.parquet): the files'
        hashes, or the units and weights of a source that predicts here."""
        if all_folds:
            return [file_hash(self.run_dir / "test.parquet")]
        return [test_by_fold_fingerprint(s.cfg, s.weights) for s in self.sources]

    # ---- predictions over the pool, keyed by student fold ---------------------------------
    def test_predictions(
        self, folds: list[int], all_folds: bool, ids: np.ndarray, task: Task
    ) -> dict[int, np.ndarray]:
        if all_folds:
            return {ALL_FOLDS: self.all_folds_test(ids, task)}
        per_source = [s.test_by_fold(folds, ids, task) for s in self.sources]
        return {k: np.mean([p[k] for p in per_source], axis=0) for k in folds}

    def all_folds_test(self, ids: np.ndarray, task: Task) -> np.ndarray:
        """The teacher's own test.parquet: the experiment's fold mean, the ensemble's choice."""
        return Source(self.cfg).test_all_folds(ids, task)

    def submitted_test(self, all_folds: bool, ids: np.ndarray, task: Task) -> np.ndarray:
        """The test prediction of the teacher as it labels (for its leaderboard score): in
        leak-free mode an ensemble teaches through its members' mean."""
        if self.members and not all_folds:
            return np.mean([m.test_all_folds(ids, task) for m in self.members], axis=0)
        return self.all_folds_test(ids, task)

    def extra_predictions(
        self, folds: list[int], all_folds: bool, files: list[Path]
    ) -> dict[int, np.ndarray]:
        """The teacher's predictions of extra images, run through its own units (CNN only)."""
        if not self.cfg.kind.trains_units:
            raise ConfigError(
                f"pseudo.extra_images needs a CNN experiment as teacher: {self.kind} "
                f"{self.name!r} cannot predict new images (its meta-model or pixel model "
                "needs features only its own stages build)"
            )
        exp = Experiment(self.cfg)
        if exp.metadata_layout is not None:
            raise ConfigError(
                f"pseudo.extra_images: teacher {self.name!r} reads metadata "
                "(competition.metadata), which extra images do not have"
            )
        teacher_folds = list(range(self.cfg.folds.n_splits))
        trained_fingerprints(exp, teacher_folds)  # every unit trained, from today's inputs
        images = load_extra_images(exp, files)
        predictor = UnitPredictor(exp)
        views, merge = self.cfg.infer.tta, self.cfg.infer.merge
        # leak-free per fold: the weights it teaches with; all folds: its own, as test.parquet
        weights = None if all_folds else self.sources[0].weights
        checkpoint = weights.checkpoint if weights is not None else None
        logits = {
            k: np.concatenate(list(predictor.per_seed(k, images, views, checkpoint)))
            for k in teacher_folds
        }
        task = exp.task
        if all_folds:
            return {ALL_FOLDS: task.merge(np.concatenate(list(logits.values())), merge)}
        return {k: task.merge(logits[k], merge) for k in folds}

    def scores(self, all_folds: bool) -> dict:
        """scores.json of the teacher as it labels: in leak-free mode an ensemble teaches
        through its members' mean, so its `mean` candidate's CV is the honest figure, and an
        experiment that teaches with other weights than its own (`last` for `best`) is scored
        with those (oof's `<checkpoint>_checkpoint` block, where it has one)."""
        scores: dict = read_json(self.run_dir / "scores.json")
        if self.cfg.kind.has_members and not all_folds:
            mean = scores["candidates"]["mean"]
            return {
                **scores,
                "cv": mean[scores["metric"]],
                "valid_loss": mean["valid_loss"],
                "chosen": "mean",
                "final": None,  # the chosen candidate's per-fold figures are not the mean's
            }
        source = self.sources[0]
        if not all_folds and source.predicts_here():
            weights = source.weights
            block = scores.get(f"{weights.checkpoint}_checkpoint") if weights else None
            if block is not None:
                metric = scores["metric"]
                return {
                    **scores,
                    "cv": block[metric],
                    "valid_loss": block["valid_loss"],
                    "final": block,
                }
        return scores


def open_teacher(student: Config, path: Path, checkpoint: str | None = None) -> Teacher:
    """Load the teacher's config where the student looks for runs, and check it can teach;
    its fold-k units teach with `checkpoint` (pseudo.teacher_checkpoint) or leak-free ones."""
    cfg = load_related(path, student)
    if cfg.competition.name != student.competition.name:
        raise ConfigError(
            f"{student.source}: teacher {path} is for competition {cfg.competition.name!r}, "
            f"the student for {student.competition.name!r}"
        )
    if cfg.run_dir == student.run_dir:
        raise ConfigError(
            f"{student.source}: the student {student.name!r} and its teacher {path} share the run "
            f"folder {cfg.run_dir}; give the student its own `name:`"
        )
    members: list[Source] = []
    if cfg.kind.has_members:
        paths = cfg.section("ensemble").member_paths(cfg.source)
        members = [Source(load_related(p, student), checkpoint) for p in paths]
    return Teacher(cfg, members, checkpoint)
