"""Everything about a config that can be checked before a stage writes anything: the
competition's tables and task (metric, classes), the image path templates against
`data.channels`, the external tables, the timm model and its keyword arguments, the
augmentations (on `data.channels` channels) and the optimizer where the kind trains units,
a tabular model's estimator where it trains one, and the configs an ensemble or a student
names (the stage sections' own keys are checked when the config is read). A typo is then an
error before `run.json` or the decode cache exist, so fixing it never leaves a half-made run
behind that refuses the fixed config.
"""

from __future__ import annotations

from pathlib import Path

import torch

from podium.competition import Competition
from podium.config import Config, ConfigError, load_related
from podium.data.augment import build_train_transform
from podium.data.metadata import check_metadata, competition_layout
from podium.engine.freezing import unfreeze_schedule
from podium.engine.network import create_network, uses_metadata
from podium.engine.optim import build_optimizer
from podium.experiment import Experiment
from podium.models import create_model
from podium.units.external import External


def validate(cfg: Config) -> None:
    """Raise ConfigError / DataError for the first thing wrong with `cfg` (and the configs it
    names); write nothing."""
    comp = Competition.from_config(cfg)
    task = comp.task  # reads train.csv: the target column, the classes, the metric
    _ = comp.targets
    task.check_config(cfg)  # settings the task cannot honour (a loss of another task...)
    if cfg.competition.metadata is not None:
        check_metadata(comp)  # both tables: every column, numbers where numeric
    if cfg.kind.trains_units or cfg.kind.trains_model:  # it reads images (an ensemble: no)
        comp.check_templates()  # placeholders: {id}, {channel} and the tables' columns
    if cfg.kind.trains_units:
        _check_network(cfg, task.num_outputs, comp)
        if cfg.data.external:
            _ = External(Experiment(cfg)).fingerprint  # tables, labels, images, metadata
        build_train_transform(cfg.data.train_augs, cfg.data.image_size, cfg.data.n_channels)
    if cfg.kind.trains_model:
        from podium.tabular.checks import check_tabular  # local for import cost: sklearn, xgboost

        check_tabular(cfg, task)
    if cfg.kind.has_members:
        for member in cfg.section("ensemble").member_paths(cfg.source):
            validate(load_related(member, cfg))
    if cfg.kind.has_teacher:
        validate(load_related(cfg.section("pseudo").teacher_path(cfg.source), cfg))
    if cfg.train.distill is not None:
        _check_distill(cfg)
    _check_studies(cfg, task.pixelwise)


def _check_studies(cfg: Config, pixelwise: bool) -> None:
    """Studies of several series (`data.slices.series`) train and predict CNN units; what
    reads the images by row otherwise (tabular pixels, pseudo-labels, a teacher's soft
    targets, external tables, masks) is refused by name."""
    if cfg.data.slices is None or cfg.data.slices.series is None:
        return
    what = (
        "a tabular model (tabular:)"
        if cfg.kind.trains_model
        else "pseudo-labels (pseudo:)"
        if cfg.kind.has_teacher
        else "train.distill"
        if cfg.train.distill is not None
        else "data.external"
        if cfg.data.external
        else "segmentation"
        if pixelwise
        else None
    )
    if what is not None:
        raise ConfigError(
            f"{cfg.source}: data.slices.series (studies of several series) does not take "
            f"{what} yet; train a CNN experiment on the series (or leave series out)"
        )


def _check_distill(cfg: Config) -> None:
    """A student is a plain CNN experiment trained by `podium train`; its teacher a CNN
    experiment or an ensemble (its members are checked when the teacher is built)."""
    assert cfg.train.distill is not None
    if not cfg.kind.distils or cfg.tune is not None:
        what = "a tune study" if cfg.tune is not None else f"a {cfg.kind.name} config"
        raise ConfigError(
            f"{cfg.source}: train.distill is for plain CNN experiments, not {what}: distil "
            "in the experiment, then tune or pseudo-label with it"
        )
    teacher = load_related(cfg.train.distill.teacher_path(cfg.source), cfg)
    if teacher.kind.trains_model:
        raise ConfigError(
            f"{cfg.source}: train.distill.teacher {teacher.name!r} is a tabular model; a "
            "teacher predicts the student's training images with its fold-k CNN models"
        )
    validate(teacher)


def _check_network(cfg: Config, num_outputs: int, comp: Competition) -> None:
    """Build the model on the meta device (no memory, no weights: fast even for big ones) and
    its optimizer, so an unknown name or keyword is reported now."""
    layout = competition_layout(comp) if uses_metadata(cfg) else None
    if layout is not None and cfg.kind.has_teacher:
        raise ConfigError(
            "pseudo: a student that reads metadata (competition.metadata) is not supported yet; "
            "set model.metadata.use: false for the student"
        )
    with torch.device("meta"):
        model = create_network(cfg, num_outputs, layout, pretrained=False, weights=None)
    build_optimizer(model, cfg.train)
    unfreeze_schedule(model, cfg.train)  # enough stage groups for train.unfreeze
    if cfg.model.weights and not Path(cfg.model.weights).is_file():
        create_model(cfg.model, num_outputs, cfg.data.n_channels)  # the model factory's own message
