"""`podium train` under torchrun: one unit (`--fold K --seed S`) trained by every process of
the launch with DistributedDataParallel (podium.engine.distributed). The CLI comes here
instead of `pipeline.run` when torchrun's environment is set; everything else about the run
(loading, validation, folds, the unit's stamps) is the pipeline's.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from podium.config import ConfigError
from podium.engine import distributed
from podium.engine.precision import resolve_device
from podium.pipeline import Pipeline, Request, check_unit


def launched() -> bool:
    """Whether this process was started by torchrun (its WORLD_SIZE is set)."""
    return distributed.launched()


def run(stage: str, request: Request) -> None:
    """Under torchrun: one unit (`train --fold K --seed S`) over the processes. Rank 0 makes
    what the unit reads (folds.csv) before the others read it; only rank 0 logs progress."""
    world = distributed.env_world_size()
    if stage != "train":
        raise ConfigError(
            f"podium {stage} under torchrun (WORLD_SIZE={world}): only `podium train --fold K "
            f"--seed S` runs over several processes; run `podium {stage}` as one process"
        )
    if request.devices:
        raise ConfigError("--devices starts a process per device itself: run it without torchrun")
    if request.fold is None or request.seed is None:
        raise ConfigError(
            f"podium train under torchrun (WORLD_SIZE={world}) trains one unit over its "
            "processes: pass --fold K --seed S (many units: `podium train --devices 0,1`)"
        )
    if distributed.env_rank() != 0:  # the others train in silence
        request = replace(request, overrides=[*request.overrides, "train.progress=false"])
        logging.getLogger("podium").setLevel(logging.WARNING)
    p = Pipeline(request)
    top = p.load(request.config)
    if top.kind.has_members and request.exp is None:
        raise ConfigError(f"{request.config}: under torchrun, name one member with --exp")
    cfg = p.members(top, request.exp)[0] if top.kind.has_members else top
    if not cfg.kind.torchrun:
        raise ConfigError(
            f"{cfg.source}: under torchrun only an image experiment trains (this is a "
            f"{cfg.kind.name} config); train it as one process per unit"
        )
    check_unit(request, cfg)
    distributed.check_config(cfg.train, world, resolve_device(cfg.train.device))
    distributed.setup(cfg.train.device)  # left when the process exits
    with distributed.main_first():
        p.folds(cfg)
    p.train(cfg, request.force)
