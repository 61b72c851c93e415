"""The experiment's kind: what a config trains or combines, as one record per kind, decided
once from its stage sections (`Config.kind`). Stages, the pipeline, validation and export ask
the record what to do (`cfg.kind.has_members`, `cfg.kind.trains_units`, ...) or look a
per-kind function up in a table; nothing else compares kind names.

    kind      section     trains   members  teacher  predictions by  run folder            export copies
    cnn       -           units    -        -        oof / infer     runs/<comp>/<name>    unit weights
    tabular   tabular:    model    -        -        train           runs/<comp>/<name>    fitted models
    ensemble  ensemble:   nothing  yes      -        ensemble        .../ensemble/<name>   combination
    pseudo    pseudo:     units    -        yes      oof / infer     runs/<comp>/<name>    unit weights

A config with several of these sections is the first kind of `KINDS` that has one (an
ensemble's `tune:` is a study of its meta-model; its members carry their own sections).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

# what `podium train` trains for a config: fold x seed CNN units, one tabular model per fold
# and seed, or nothing of its own (an ensemble's members train)
Trains = Literal["units", "model", "nothing"]
# the command whose stage writes the config's oof.parquet / test.parquet
PredictedBy = Literal["oof", "train", "ensemble"]
# what `podium export` copies for the config
Exports = Literal["unit_weights", "models", "combination"]


@dataclass(frozen=True)
class Kind:
    """One kind of experiment and what it does; the instances are the table below."""

    name: str
    """The kind's name ("cnn", "tabular", "ensemble", "pseudo"): written to run.json and the bundle's
    manifest, and named in messages ("a tabular config cannot ...")."""
    section: str | None
    """The stage section that makes a config this kind (`Config.kind` asks); None: the plain
    kind every config is without one."""
    trains: Trains
    """What `podium train` fits (see `trains_units`, `trains_model`)."""
    has_members: bool
    """An ensemble of member experiments: train / oof / infer / weights / export stand for
    its members (pipeline, launch, export), its predictions are the ensemble stage's, and a
    teacher of this kind teaches through its members (pseudo.teacher, units.distill)."""
    has_teacher: bool
    """A pseudo-label student: its `pseudo.teacher` is validated and trained first (validate,
    pipeline, weights), and `podium pseudo` runs it. (A distillation teacher,
    `train.distill`, belongs to a plain CNN experiment; see `distils`.)"""
    predicted_by: PredictedBy
    """The command that writes its OOF and test predictions: `oof` (and `infer`) for a
    network's units, `train` for a tabular model (its training predicts), `ensemble` for an
    ensemble. The pipeline skips oof / infer where training predicted; export names this
    command when scores.json is stale."""
    run_folder: str
    """The folder under runs/<comp>/ that holds its run folder ("" for runs/<comp>/<name>):
    ensembles live apart from experiments, so a member and an ensemble may share a name."""
    exports: Exports
    """What `podium export` copies for it: its units' inference weights, its fitted tabular
    models, or (an ensemble) the chosen combination, beside its members' own entries."""
    torchrun: bool
    """Whether `podium train` under torchrun trains it (one unit over the processes): a plain
    CNN experiment; a student's units need its pseudo rows, made by one process first."""
    distils: bool
    """Whether `train.distill` may be set (validate): a plain CNN experiment is the student of
    a distillation teacher; a pseudo-label student has a teacher already."""

    @property
    def trains_units(self) -> bool:
        """Fold x seed network units: validation builds its network, augmentations, channel
        templates and external data (validate); it fetches pretrained weights (weights); its
        models predict new images (a pseudo or distillation teacher's units); export copies
        their weights."""
        return self.trains == "units"

    @property
    def trains_model(self) -> bool:
        """A tabular model on pixels: validation checks the estimator and its params against
        the task (validate); it cannot be a distillation teacher."""
        return self.trains == "model"

    @property
    def training_writes_predictions(self) -> bool:
        """Its training writes oof.parquet and test.parquet: the pipeline runs no oof / infer."""
        return self.predicted_by == "train"

    @property
    def noun(self) -> str:
        """What a teacher of this kind is called in pseudo.json and messages: an "ensemble"
        or an "experiment"."""
        return "ensemble" if self.has_members else "experiment"

    def run_dir(self, comp_dir: Path, name: str) -> Path:
        """runs/<comp>/<name>/, or runs/<comp>/<run_folder>/<name>/ (Config.run_dir)."""
        return comp_dir / self.run_folder / name if self.run_folder else comp_dir / name


CNN = Kind(
    name="cnn",
    section=None,
    trains="units",
    has_members=False,
    has_teacher=False,
    predicted_by="oof",
    run_folder="",
    exports="unit_weights",
    torchrun=True,
    distils=True,
)
TABULAR = Kind(
    name="tabular",
    section="tabular",
    trains="model",
    has_members=False,
    has_teacher=False,
    predicted_by="train",
    run_folder="",
    exports="models",
    torchrun=False,
    distils=False,
)
ENSEMBLE = Kind(
    name="ensemble",
    section="ensemble",
    trains="nothing",
    has_members=True,
    has_teacher=False,
    predicted_by="ensemble",
    run_folder="ensemble",
    exports="combination",
    torchrun=False,
    distils=False,
)
PSEUDO = Kind(
    name="pseudo",
    section="pseudo",
    trains="units",
    has_members=False,
    has_teacher=True,
    predicted_by="oof",
    run_folder="",
    exports="unit_weights",
    torchrun=False,
    distils=False,
)

# in the order `Config.kind` tries them: the first whose section the config has (CNN: none)
KINDS: tuple[Kind, ...] = (ENSEMBLE, PSEUDO, TABULAR, CNN)


def kind_of(sections: set[str]) -> Kind:
    """The kind of a config whose stage sections `sections` are set."""
    return next(k for k in KINDS if k.section is None or k.section in sections)
