"""Exact resume with the training recipes on: SWA (average, n_averaged and SWALR in last.pt,
swa.pt), snapshots, progressive resizing (a restart stage), BatchNorm freeze and gradual
unfreezing (distillation: test_distill.py). A unit killed after epochs 1
and 2 (`train.stop_after_epoch`) and resumed ends bit for bit where an uninterrupted run
does; the settings of test_resume (EMA, mixup/cutmix, accumulation, clipping, drop path) stay
on."""

from __future__ import annotations

import pytest
from test_resume import assert_same, experiment

from podium.engine.checkpoint import load_checkpoint
from podium.engine.trainer import Interrupted
from podium.stages import train as train_stage

RECIPES = {
    "swa": (
        ["model.name=test_resnet", "train.swa={start_epoch: 2, lr: 0.002, anneal_epochs: 1}"],
        ["swa.pt"],
    ),
    "snapshots": (
        ["train.cycles=3", "train.snapshots=true", "train.checkpoint=snapshots"],
        ["snapshot1.pt", "snapshot2.pt", "snapshot3.pt"],
    ),
    "progressive": (
        [
            "model.name=test_resnet",
            "train.stages=[{epochs: 1, image_size: 24}, {epochs: 2, lr: 0.002}]",
        ],
        [],
    ),
    "freeze_bn_unfreeze": (
        [
            "model.name=test_resnet",
            "train.freeze_bn=true",
            "train.unfreeze={epochs: [2, 3]}",
            "train.scheduler=flat_cosine",
        ],
        [],
    ),
}


@pytest.mark.parametrize("recipe", list(RECIPES))
def test_resume_is_exact_with_recipes(tiny_config, small_demo, recipe):
    settings, files = RECIPES[recipe]
    whole = experiment(tiny_config, small_demo, "whole", *settings)
    train_stage.run(whole)

    unit = experiment(tiny_config, small_demo, "resumed", *settings).unit_dir(0, 0)
    for stop in (1, 2):
        with pytest.raises(Interrupted, match=f"after epoch {stop}"):
            train_stage.run(
                experiment(
                    tiny_config, small_demo, "resumed", *settings, f"train.stop_after_epoch={stop}"
                )
            )
    train_stage.run(experiment(tiny_config, small_demo, "resumed", *settings))

    done = whole.unit_dir(0, 0)
    for name in ("last.pt", "best.pt", *files):
        assert_same(load_checkpoint(done / name), load_checkpoint(unit / name), name)
    last = load_checkpoint(unit / "last.pt")
    if recipe == "swa":
        assert int(last["swa"]["averaged"]["n_averaged"]) == 2
        assert last["swa"]["scheduler"] is not None
