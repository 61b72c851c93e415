"""`podium folds`: assign every train row to a fold, once per competition. Every experiment
reads the same runs/<comp>/folds.csv and records its hash."""

from __future__ import annotations

import numpy as np

from podium.artifacts import file_hash, read_json, write_csv, write_json
from podium.competition import Competition, DataError
from podium.config import Config
from podium.folds import assign_folds, read_folds


def run(cfg: Config, force: bool = False) -> None:
    comp = Competition.from_config(cfg)
    path, meta_path = cfg.folds_path, cfg.folds_path.with_suffix(".json")
    settings = cfg.folds.model_dump()
    if path.exists() and not force:
        read_folds(path, comp)  # still matches train.csv
        made_with = read_json(meta_path)["settings"] if meta_path.exists() else None
        if made_with is not None and made_with != settings:
            raise DataError(
                f"{path} was made with {made_with}, the config asks for {settings}; every experiment "
                "of a competition shares one folds file: run `podium folds --force` and retrain"
            )
        print(f"folds: {path} is up to date (hash {file_hash(path)})")
        return
    folds = assign_folds(comp, cfg.folds)
    write_csv(path, folds)
    write_json(meta_path, {"settings": settings, "hash": file_hash(path)})
    sizes = np.bincount(folds["fold"], minlength=cfg.folds.n_splits).tolist()
    print(
        f"folds: wrote {path} ({cfg.folds.method}, {cfg.folds.n_splits} folds, sizes {sizes}, hash {file_hash(path)})"
    )
