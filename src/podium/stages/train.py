"""`podium train`: every fold x seed unit of an experiment (seed averaging), or one unit with
`--fold K --seed S` so units can run as parallel processes. Finished units are skipped; a
killed unit resumes from its last.pt; `--force` retrains the units it covers. With
`train.distill`, the teachers (trained by the pipeline first) give each unit soft targets.
Every task's units train in the one core (a segmentation's masks too: `engine.trainer`)."""

from __future__ import annotations

from podium.experiment import Experiment
from podium.units.distill import Distiller
from podium.units.train import train_units


def run(
    exp: Experiment,
    force: bool = False,
    fold: int | None = None,
    seed: int | None = None,
    teachers: list[Experiment] | None = None,
) -> dict[tuple[int, int], dict]:
    distiller = Distiller(exp, teachers) if teachers else None
    return train_units(exp, force=force, fold=fold, seed=seed, distiller=distiller)
