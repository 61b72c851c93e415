"""`data.external`: labelled rows from outside train.csv join the training rows of every
fold, never a validation fold, folds.csv, oof.parquet or a CV score; their labels are checked
like train.csv's (errors name the table and line), their images go through the decode cache
into their own file, and changing them makes the units stale."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from factories import write_competition
from podium.artifacts import ArtifactError
from podium.config import ConfigError, from_dict
from podium.errors import DataError
from podium.experiment import Experiment
from podium.folds import read_folds
from podium.predictions import read_oof
from podium.stages import folds as folds_stage
from podium.stages import oof as oof_stage
from podium.stages import train as train_stage
from podium.units import train as units_train
from podium.units.external import External
from podium.units.stamps import unit_stamp

LABELS = ["a", "b"] * 4
EXTRA_LEVEL = 123  # the external images' grey level: no train image has it


def write_external(comp: Path, labels: list[str], name: str = "extra") -> None:
    (comp / name).mkdir(exist_ok=True)
    ids = [f"x{i}" for i in range(len(labels))]
    for i in ids:
        cv2.imwrite(str(comp / name / f"{i}.png"), np.full((8, 8, 3), EXTRA_LEVEL, np.uint8))
    pd.DataFrame({"id": ids, "label": labels}).to_csv(comp / f"{name}.csv", index=False)


def config(root: Path, *external: dict, image_size: int = 8):
    return from_dict(
        {
            "name": "ext",
            "competition": {"name": "toy", "solution": None},
            "data": {"image_size": image_size, "num_workers": 0, "external": list(external)},
            "folds": {"n_splits": 2},
            "model": {"name": "test_convnext"},
            "train": {"epochs": 1, "batch_size": 4, "progress": False, "device": "cpu"},
            "paths": {
                "data": str(root),
                "runs": str(root / "runs"),
                "submissions": str(root / "submissions"),
            },
        }
    )


EXTRA = {"table": "extra.csv", "images": "extra/{id}.png"}


@pytest.fixture
def toy(tmp_path) -> Path:
    comp = write_competition(tmp_path, LABELS)
    write_external(comp, ["b", "b", "a"])
    return comp


def test_external_rows_train_every_fold_and_are_never_validated(tmp_path, toy, monkeypatch):
    seen = {}

    def record(cfg, task, train, valid, unit_dir, seed, on_epoch_end=None, stamp=None):
        seen[unit_dir.parent.name] = (train, valid)
        stamp.write(best_score=0.0)
        return {"metric": "accuracy", "best_score": 0.0, "best_epoch": 1}

    monkeypatch.setattr(units_train, "fit", record)
    cfg = config(tmp_path, EXTRA)
    folds_stage.run(cfg)
    exp = Experiment(cfg)
    train_stage.run(exp)
    assert set(seen) == {"fold0", "fold1"}
    for fold, (train, valid) in enumerate(seen[f] for f in ("fold0", "fold1")):
        in_fold = exp.fold_of_row == fold
        # the fold's training rows, then the 3 external ones with their one-hot labels
        assert len(train.images) == (~in_fold).sum() + 3
        assert (train.images[-3:] == EXTRA_LEVEL).all()
        assert train.targets[-3:].argmax(1).tolist() == [1, 1, 0]
        assert train.weights.tolist()[-3:] == [1.0, 1.0, 1.0]
        assert len(valid.images) == in_fold.sum() and not (valid.images == EXTRA_LEVEL).any()
    # folds.csv holds train.csv's ids only
    assert sorted(read_folds(cfg.folds_path, exp.comp)["id"]) == sorted(exp.comp.train_ids)
    # their own decode cache file
    assert len(list((cfg.comp_dir / "cache").glob("external-extra-8x8-*.npy"))) == 1


def test_oof_covers_the_competition_rows_only(tmp_path, toy):
    cfg = config(tmp_path, EXTRA, image_size=32)
    folds_stage.run(cfg)
    train_stage.run(Experiment(cfg))
    exp = Experiment(cfg)
    oof_stage.run(exp)
    oof = pd.read_parquet(exp.run_dir / "oof.parquet")
    assert sorted(oof["id"]) == sorted(exp.comp.train_ids)  # no x0..x2
    read_oof(exp.run_dir / "oof.parquet", exp.task, exp.comp.train_ids, exp.fold_of_row)


def test_changed_external_labels_make_the_units_stale(tmp_path, toy, monkeypatch):
    def record(cfg, task, train, valid, unit_dir, seed, on_epoch_end=None, stamp=None):
        stamp.write(best_score=0.0)
        return {"metric": "accuracy", "best_score": 0.0, "best_epoch": 1}

    monkeypatch.setattr(units_train, "fit", record)
    cfg = config(tmp_path, EXTRA)
    folds_stage.run(cfg)
    train_stage.run(Experiment(cfg))
    assert train_stage.run(Experiment(cfg)) == {}  # fresh: skipped
    write_external(toy, ["a", "b", "a"])
    with pytest.raises(ArtifactError, match=r"\(external changed since\)"):
        train_stage.run(Experiment(cfg))
    assert set(train_stage.run(Experiment(cfg), force=True)) == {(0, 0), (1, 0)}


def test_runs_without_external_data_keep_their_stamp_parts(tmp_path, toy):
    cfg = config(tmp_path)
    folds_stage.run(cfg)
    stamp = unit_stamp(Experiment(cfg), 0, 0)
    assert "external" not in stamp.parts


def test_a_bad_external_label_names_its_table_and_line(tmp_path, toy):
    write_external(toy, ["a", "c", "b"])
    cfg = config(tmp_path, EXTRA)
    with pytest.raises(DataError) as err:
        External(Experiment(cfg))
    assert str(err.value) == (
        f"{toy / 'extra.csv'}: line 3 (id 'x1') has label 'c', which is not one of the classes "
        "['a', 'b']"
    )


def test_a_missing_external_image_or_column_is_named(tmp_path, toy):
    (toy / "extra" / "x2.png").unlink()
    with pytest.raises(DataError) as err:
        External(Experiment(config(tmp_path, EXTRA)))
    assert str(err.value) == (
        f"image not found: {toy / 'extra' / 'x2.png'} (id 'x2', line 4 of {toy / 'extra.csv'})"
    )
    pd.DataFrame({"id": ["x0"], "target": ["a"]}).to_csv(toy / "extra.csv", index=False)
    with pytest.raises(DataError, match=r"extra.csv: missing column\(s\) \['label'\]"):
        External(Experiment(config(tmp_path, EXTRA)))


def test_the_images_template_needs_an_id(tmp_path):
    with pytest.raises(ConfigError, match=r"needs an \{id\} placeholder"):
        config(tmp_path, {"table": "extra.csv", "images": "extra/a.png"})


def test_validate_checks_the_external_tables_before_anything_is_written(tmp_path, toy):
    from podium.validate import validate

    write_external(toy, ["a", "z", "b"])
    with pytest.raises(DataError, match=r"extra.csv: line 3 \(id 'x1'\) has label 'z'"):
        validate(config(tmp_path, EXTRA, image_size=32))
    assert not (tmp_path / "runs").exists()
