"""The order of the stages: what each needs, and the one place that runs an upstream stage
on demand. The CLI (and so the Makefile, whose targets are plain `podium <stage>` calls)
goes through here; stages never call each other.

    folds -> train -> oof ----> ensemble -> submit -> score
                   -> infer -/            (an experiment submits from its oof + infer)
    pseudo: the teacher's predictions -> pseudo-labels + student train -> oof -> infer -> report
    tune: folds (train mode) or the members' predictions (meta mode) -> the study
    lr-find: folds -> the range test
    export: nothing is run: a missing or stale artifact is refused with its command
    weights: the pretrained files of the config, its members and a student's teachers

Every stage skips what is fresh (its stamp records what it was made from), so asking for a
late stage costs only what is missing or stale. `--force` redoes the stage asked for, never
its upstream. What a stage does depends on the config's kind (`Config.kind`, a
`podium.config.kind.Kind`): an ensemble's train / oof / infer are its members'
(`has_members`); a tabular member's training writes its predictions too
(`training_writes_predictions`); what `train` runs for each kind is the `_TRAIN` table.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from podium import progress
from podium.config import Config, ConfigError, load_config, load_related
from podium.config.kind import CNN, PSEUDO, TABULAR, Kind
from podium.experiment import Experiment
from podium.mask_ensemble.members import check_blendable
from podium.stages import ensemble as ensemble_stage
from podium.stages import export as export_stage
from podium.stages import folds as folds_stage
from podium.stages import infer as infer_stage
from podium.stages import lr_find as lr_find_stage
from podium.stages import oof as oof_stage
from podium.stages import pseudo as pseudo_stage
from podium.stages import score as score_stage
from podium.stages import submit as submit_stage
from podium.stages import tabular as tabular_stage
from podium.stages import train as train_stage
from podium.stages import weights as weights_stage
from podium.tasks import task_type
from podium.units.devices import train_on_devices
from podium.validate import validate

_log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class Request:
    """What the user asked for: a config (with overrides), and for train one unit or, with an
    ensemble config, one member."""

    config: Path
    overrides: list[str] = field(default_factory=list)
    force: bool = False
    exp: str | None = None
    fold: int | None = None
    seed: int | None = None
    devices: list[str] | None = None  # `--devices 0,1`: units (tune workers) over a pool


def member_paths(cfg: Config, exp: str | None = None) -> list[Path]:
    """The experiment configs an ensemble config stands for in train / oof / infer (all of
    them, or the one named `exp`); a plain config stands for itself."""
    config = Path(cfg.source or "")
    if not cfg.kind.has_members:
        return [config]
    paths = cfg.section("ensemble").member_paths(cfg.source)
    if exp is None:
        return paths
    chosen = [p for p in paths if p.stem == exp]
    if not chosen:
        raise ConfigError(f"{config}: no member named {exp!r}; members: {[p.stem for p in paths]}")
    return chosen


# sections that belong to the config named on the command line, never to its members
OWN_SECTIONS = ("ensemble.", "ensemble=", "tune.", "tune=")


class Pipeline:
    """Runs stages for one request, each at most once per config (a teacher shared by two
    members is trained once), validating every config before any stage writes."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self._done: set[tuple[str, Path]] = set()
        self._valid: set[Path] = set()
        self._overrides: dict[Path, list[str]] = {}  # per run folder: how its config was made

    # ---- configs -------------------------------------------------------------------------
    def load(self, path: Path, member: bool = False, extra: list[str] | None = None) -> Config:
        """`path` with the request's overrides (then `extra`); a member of an ensemble takes
        them all but the ensemble's own sections (`ensemble.meta.seeds=[0]` or
        `tune.n_trials=2` on a meta study are not a member's keys)."""
        overrides = self.request.overrides
        if member:
            overrides = [o for o in overrides if not o.startswith(OWN_SECTIONS)]
        cfg = load_config(path, [*overrides, *(extra or [])])
        self._overrides[cfg.run_dir] = [*overrides, *(extra or [])]
        if cfg.run_dir not in self._valid:
            validate(cfg)
            self._valid.add(cfg.run_dir)
        return cfg

    def members(self, cfg: Config, exp: str | None = None) -> list[Config]:
        """An ensemble's members, made where the ensemble reads them: under its `paths`."""
        where = [f"paths.{k}={v}" for k, v in cfg.paths.model_dump().items()]
        members = [self.load(p, member=True, extra=where) for p in member_paths(cfg, exp)]
        if exp is None and task_type(cfg.competition).pixelwise:
            check_blendable(cfg, members)  # maps blend pixel by pixel: same folds and size
        progress.current().expect(members)  # the whole command's units, for its estimate
        return members

    def related(self, path: Path, like: Config) -> Config:
        cfg = load_related(path, like)
        validate(cfg)
        self._overrides[cfg.run_dir] = [
            f"paths.{k}={v}" for k, v in like.paths.model_dump().items()
        ]
        return cfg

    def command_args(self, cfg: Config) -> list[str]:
        """`-c FILE key=value...`: the command line that loads `cfg` as this run did (for
        the processes of a device pool)."""
        return ["-c", str(cfg.source), *self._overrides[cfg.run_dir]]

    def _once(self, stage: str, cfg: Config, fn: Callable[[], T]) -> T | None:
        """`fn`'s result, or None where this stage already ran on this run folder."""
        key = (stage, cfg.run_dir)
        if key in self._done:
            return None
        self._done.add(key)
        with progress.current().stage(stage, cfg):  # its line, with the time left
            return fn()

    # ---- stages --------------------------------------------------------------------------
    def folds(self, cfg: Config, force: bool = False) -> None:
        self._once("folds", cfg, lambda: folds_stage.run(cfg, force=force))

    def train(self, cfg: Config, force: bool = False, exp: str | None = None) -> None:
        if cfg.kind.has_members:
            for member in self.members(cfg, exp):
                self.train(member, force)
            return
        self.folds(cfg)
        self._once("train", cfg, lambda: _TRAIN[cfg.kind](self, cfg, force))

    def oof(self, cfg: Config, force: bool = False, exp: str | None = None) -> None:
        self._predict("oof", oof_stage.run, cfg, force, exp)

    def infer(self, cfg: Config, force: bool = False, exp: str | None = None) -> None:
        self._predict("infer", infer_stage.run, cfg, force, exp)

    def _predict(self, stage: str, fn: Callable, cfg: Config, force: bool, exp: str | None) -> None:
        if cfg.kind.has_members:
            for member in self.members(cfg, exp):
                self._predict(stage, fn, member, force, None)
            return
        self.train(cfg)
        if cfg.kind.training_writes_predictions:
            return
        self._once(stage, cfg, lambda: fn(Experiment(cfg), force=force))

    def predictions(self, cfg: Config) -> None:
        """What an ensemble, a student or a submission reads of `cfg`: its OOF and test files."""
        if cfg.kind.has_members:
            self.ensemble(cfg)
        else:
            self.oof(cfg)
            self.infer(cfg)

    def ensemble(self, cfg: Config, force: bool = False) -> dict | None:
        if not cfg.kind.has_members:
            raise ConfigError(f"{cfg.source}: `podium ensemble` needs an `ensemble:` section")
        for member in self.members(cfg):
            self.predictions(member)
        return self._once("ensemble", cfg, lambda: ensemble_stage.run(cfg, force=force))

    def submit(self, cfg: Config, force: bool = False) -> Path:
        self.predictions(cfg)
        return submit_stage.run(cfg, force=force)

    def score(self, cfg: Config, submission: Path | None) -> dict[str, float]:
        return score_stage.run(cfg, submission or self.submit(cfg))

    def pseudo(self, cfg: Config, force: bool = False) -> None:
        if not cfg.kind.has_teacher:
            raise ConfigError(f"{cfg.source}: `podium pseudo` needs a `pseudo:` section")
        t0 = time.time()
        self.train(cfg, force)
        self.oof(cfg, force)
        self.infer(cfg, force)
        pseudo_stage.report(cfg, started=t0)

    def tune(self, cfg: Config, mkdir: bool = False) -> Any:
        from podium.stages import tune as tune_stage  # local for import cost: optuna, sqlalchemy

        if cfg.section("tune").mode == "meta":
            for member in self.members(cfg):
                self.predictions(member)
        else:
            self.folds(cfg)
        if self.request.devices:
            args = self.command_args(cfg)
            return tune_stage.run_workers(cfg, self.request.devices, args, mkdir)
        return tune_stage.run(cfg, mkdir)

    def export(self, cfg: Config, **options: Any) -> Path:
        """A bundle of what is already made: export trains and predicts nothing itself."""
        members = self.members(cfg) if cfg.kind.has_members else [cfg]
        return export_stage.run(cfg, members, **options)

    def weights(self, cfg: Config, out: Path | None) -> Any:
        configs, queue = [], [cfg]
        while queue:
            c = queue.pop()
            configs.append(c)
            if c.kind.has_members:
                queue.extend(self.members(c))
            elif c.kind.has_teacher:
                queue.append(self.related(c.section("pseudo").teacher_path(c.source), c))
        return weights_stage.run(configs, out)

    def lr_find(self, cfg: Config, steps: int) -> Any:
        self.folds(cfg)
        return lr_find_stage.run(Experiment(cfg), steps=steps)


def _train_cnn(p: Pipeline, cfg: Config, force: bool) -> None:
    r = p.request
    teachers = [Experiment(t) for t in _teachers(p, cfg)]
    if r.devices:
        args = p.command_args(cfg)
        train_on_devices(Experiment(cfg), args, r.devices, force, r.fold, r.seed)
        return
    train_stage.run(Experiment(cfg), force=force, fold=r.fold, seed=r.seed, teachers=teachers)


def _teachers(p: Pipeline, cfg: Config) -> list[Config]:
    """`train.distill.teacher`, trained first: an experiment, or an ensemble's members."""
    if cfg.train.distill is None:
        return []
    teacher = p.related(cfg.train.distill.teacher_path(cfg.source), cfg)
    p.train(teacher)
    return p.members(teacher) if teacher.kind.has_members else [teacher]


def _train_tabular(p: Pipeline, cfg: Config, force: bool) -> None:
    tabular_stage.run(Experiment(cfg), force=force)


def _train_student(p: Pipeline, cfg: Config, force: bool) -> None:
    teacher = p.related(cfg.section("pseudo").teacher_path(cfg.source), cfg)
    p.predictions(teacher)
    r = p.request
    if r.devices:  # pseudo.parquet made here, before the units' processes read it
        exp = Experiment(cfg)
        _, fp = pseudo_stage.student_rows(exp, force=force and r.fold is None and r.seed is None)
        train_on_devices(exp, p.command_args(cfg), r.devices, force, r.fold, r.seed, fp)
        return
    pseudo_stage.train_student(Experiment(cfg), force=force, fold=r.fold, seed=r.seed)


# what `train` means for each kind (an ensemble trains its members)
_TRAIN: dict[Kind, Callable[[Pipeline, Config, bool], None]] = {
    CNN: _train_cnn,
    TABULAR: _train_tabular,
    PSEUDO: _train_student,
}


def check_unit(request: Request, cfg: Config) -> None:
    """`--fold` / `--seed` name a unit the config has, before anything is trained."""
    n = cfg.folds.n_splits
    if request.fold is not None and request.fold not in range(n):
        raise ConfigError(
            f"--fold {request.fold}: {cfg.source} has folds 0..{n - 1} (folds.n_splits={n})"
        )
    if request.seed is not None and request.seed not in cfg.train.seeds:
        raise ConfigError(
            f"--seed {request.seed} is not one of train.seeds {cfg.train.seeds} in {cfg.source}; "
            "add it there, so oof and infer average it too"
        )


def check_stage(stage: str, cfg: Config, request: Request) -> None:
    """Refuse a stage (or the device pool) the competition's task does not support yet, as
    one line naming it, before anything is made."""
    task = task_type(cfg.competition)
    asked = "--devices" if request.devices and stage == "train" else f"podium {stage}"
    if stage in task.unsupported_stages or (
        asked == "--devices" and asked in task.unsupported_stages
    ):
        raise ConfigError(
            f"{cfg.source}: `{asked}`: {task.name} does not support it yet "
            f"(competition.task: {task.name})"
        )


def run(stage: str, request: Request, **options: Any) -> Any:
    """Run `stage` for `request`, making what it needs first."""
    p = Pipeline(request)
    path, force = request.config, request.force
    if stage in ("train", "oof", "infer"):
        # an ensemble config stands for its members (`--exp` narrows), a plain one for itself
        top = p.load(path)
        check_stage(stage, top, request)
        configs = p.members(top, request.exp) if top.kind.has_members else [top]
        check_unit(request, configs[0])
        for cfg in configs:
            getattr(p, stage)(cfg, force)
        return None
    if stage in ("folds", "lr-find"):
        # an ensemble's folds are its members' (the competition's); lr-find is a member's
        top = p.load(path)
        check_stage(stage, top, request)
        exp = request.exp if stage == "lr-find" else None
        cfg = p.members(top, exp)[0] if top.kind.has_members else top
        if stage == "folds":
            return p.folds(cfg, force)
        return p.lr_find(cfg, options.get("steps", 100))
    cfg = p.load(path)
    check_stage(stage, cfg, request)
    if stage == "ensemble":
        p.ensemble(cfg, force)
        return p.submit(cfg)
    if stage == "submit":
        return p.submit(cfg, force)
    if stage == "score":
        return p.score(cfg, options.get("submission"))
    if stage == "pseudo":
        return p.pseudo(cfg, force)
    if stage == "tune":
        return p.tune(cfg, options.get("mkdir", False))
    if stage == "export":
        return p.export(cfg, **options)
    if stage == "weights":
        return p.weights(cfg, options.get("out"))
    raise ValueError(f"unknown stage {stage!r}")
