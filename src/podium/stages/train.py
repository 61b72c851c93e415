"""`podium train`: every fold x seed unit of an experiment (seed averaging), or one unit with
`--fold K --seed S` so units can run as parallel processes. Finished units are skipped; a
killed unit resumes from its last.pt; `--force` retrains the units it covers."""

from __future__ import annotations

from podium.experiment import Experiment
from podium.units.train import train_units


def run(
    exp: Experiment, force: bool = False, fold: int | None = None, seed: int | None = None
) -> dict[tuple[int, int], dict]:
    return train_units(exp, force=force, fold=fold, seed=seed)
