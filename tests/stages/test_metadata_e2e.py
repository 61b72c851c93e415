"""`competition.metadata` end to end: train -> oof -> infer -> submit with the image +
metadata network (each unit's checkpoint holds its fold's statistics; changed test metadata
makes the test predictions stale), the training recipes around it (EMA, SWA, mixup, TTA), and
the stack's level-2 features with the metadata columns (categoricals one-hot)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from metadata_factories import metadata_config, write_metadata_competition
from podium.competition import Competition
from podium.config import ConfigError
from podium.config.ensemble import FeaturesConfig
from podium.engine.checkpoint import inference_state
from podium.ensemble.features import build_level2
from podium.ensemble.members import Member
from podium.errors import DataError
from podium.experiment import Experiment
from podium.stages import folds as folds_stage
from podium.stages import infer as infer_stage
from podium.stages import oof as oof_stage
from podium.stages import submit as submit_stage
from podium.stages import train as train_stage
from podium.units.train import fold_rows
from podium.validate import validate


def _config(tmp_path, **train):
    cfg = metadata_config(tmp_path)
    cfg.data.image_size = (32, 32)
    cfg.paths.submissions = str(tmp_path / "submissions")
    for k, v in train.items():
        setattr(cfg.train, k, v)
    return cfg


def test_train_oof_infer_submit_with_metadata(tmp_path):
    write_metadata_competition(tmp_path)
    cfg = _config(tmp_path)
    validate(cfg)
    folds_stage.run(cfg)
    exp = Experiment(cfg)
    train_stage.run(exp)
    oof_stage.run(exp)
    infer_stage.run(exp)
    path = submit_stage.run(cfg)
    assert len(pd.read_parquet(exp.run_dir / "oof.parquet")) == len(exp.comp.train_ids)
    assert len(pd.read_csv(path)) == len(exp.comp.test_ids)
    # each unit's weights carry the statistics of its own fold's training rows
    for fold in (0, 1):
        state = inference_state(exp.unit_dir(fold, 0), cfg.train.checkpoint)
        stats = fold_rows(exp, fold)[0].metadata_stats
        assert torch.allclose(state["mean"], torch.as_tensor(stats.mean))
    # test metadata is an input of the test predictions: a changed cell makes them stale
    assert infer_stage.stamp(Experiment(cfg)).fresh()
    test = pd.read_csv(tmp_path / "toy" / "test.csv", dtype=str, keep_default_na=False)
    test.loc[0, "age"] = "77"
    test.to_csv(tmp_path / "toy" / "test.csv", index=False)
    assert not infer_stage.stamp(Experiment(cfg)).fresh()


def test_ema_swa_mixup_and_tta_work_with_metadata(tmp_path):
    write_metadata_competition(tmp_path)
    cfg = _config(
        tmp_path,
        epochs=2,
        ema_decay=0.9,
        mixup_alpha=0.4,
        swa={"start_epoch": 2, "lr": 0.001},
        checkpoint="swa",
    )
    cfg.infer.tta = ["identity", "hflip"]
    folds_stage.run(cfg)
    exp = Experiment(cfg)
    train_stage.run(exp, fold=0)
    state = inference_state(exp.unit_dir(0, 0), "swa")
    assert {"mean", "std", "seen0"} <= set(state)  # the averaged model keeps the statistics
    logits = _predict(exp, 0)
    assert logits.shape == (2, int((exp.fold_of_row == 0).sum()), 2)
    assert np.isfinite(logits).all()


def _predict(exp: Experiment, fold: int) -> np.ndarray:
    from podium.units.predict import UnitPredictor

    rows = np.flatnonzero(exp.fold_of_row == fold)
    meta = exp.train_metadata[rows]
    return UnitPredictor(exp).logits(
        fold, 0, exp.train_images[rows], exp.cfg.infer.tta, "swa", meta
    )


def test_image_only_switch_trains_the_plain_timm_model(tmp_path):
    write_metadata_competition(tmp_path)
    cfg = _config(tmp_path)
    cfg.model.metadata.use = False
    folds_stage.run(cfg)
    exp = Experiment(cfg)
    assert exp.train_metadata is None
    train, valid = fold_rows(exp, 0)
    assert train.metadata is None and valid.metadata is None


def test_a_pseudo_student_reading_metadata_is_refused(tmp_path):
    write_metadata_competition(tmp_path)
    cfg = _config(tmp_path)
    cfg.pseudo = {"teacher": "t.yaml"}
    with pytest.raises(ConfigError, match="a student that reads metadata"):
        validate(cfg)


def test_stack_features_include_the_metadata_columns(tmp_path):
    write_metadata_competition(tmp_path)
    comp = Competition.from_config(_config(tmp_path))
    member = Member(
        "m",
        tmp_path / "m.yaml",
        tmp_path,
        oof=np.full((8, 2), 0.5),
        test=np.full((4, 2), 0.5),
        fingerprint=[],
    )
    level2 = build_level2([member], comp, FeaturesConfig(metadata=True))
    assert level2.names[-4:] == ["meta:age", "meta:site=x", "meta:site=y", "meta:site=z"]
    age, sites = level2.test[:, -4], level2.test[:, -3:]
    assert age[0] == 30 and np.isnan(age[1])  # empty -> NaN: XGBoost's missing value
    assert sites.tolist() == [[1, 0, 0], [0, 0, 0], [0, 0, 1], [0, 0, 0]]  # 'w' unseen -> zeros
    assert level2.train[:, -3:].sum(1).tolist() == [1, 1, 1, 0, 1, 1, 1, 1]


def test_stack_metadata_true_needs_competition_metadata(tmp_path):
    write_metadata_competition(tmp_path)
    cfg = _config(tmp_path)
    cfg.competition.metadata = None
    member = Member(
        "m",
        tmp_path / "m.yaml",
        tmp_path,
        oof=np.full((8, 2), 0.5),
        test=np.full((4, 2), 0.5),
        fingerprint=[],
    )
    with pytest.raises(ConfigError, match="metadata: true needs competition.metadata"):
        build_level2([member], Competition.from_config(cfg), FeaturesConfig(metadata=True))


def test_lr_find_sweeps_the_metadata_network(tmp_path):
    from podium.engine.lr_find import lr_find

    write_metadata_competition(tmp_path)
    cfg = _config(tmp_path)
    folds_stage.run(cfg)
    exp = Experiment(cfg)
    result = lr_find(cfg, exp.task, fold_rows(exp, 0)[0], steps=3)
    assert len(result.lrs) == 3 and np.isfinite(result.losses).all()


def test_demo_data_metadata_label_needs_digit_and_metadata(tmp_path):
    from sklearn.datasets import load_digits

    from podium.stages.demo_data import SITE_BONUS, write_demo

    out = write_demo(tmp_path, task="metadata")
    train = pd.read_csv(out / "train.csv", dtype=str, keep_default_na=False)
    test = pd.read_csv(out / "test.csv", dtype=str, keep_default_na=False)
    solution = pd.read_csv(out / "solution.csv", dtype=str)
    assert list(train.columns) == ["id", "age", "site", "label"]
    assert list(test.columns) == ["id", "age", "site"] and len(test) == len(solution) == 360
    assert (train["age"] == "").any()  # missing values to impute
    digit = load_digits().target[[int(i.removeprefix("img_")) for i in train["id"]]]
    known = train["age"] != ""
    score = digit + (train["age"].where(known, "0").astype(int) - 20) / 10
    score += train["site"].map(SITE_BONUS)
    assert ((score >= 9).astype(int).astype(str) == train["label"])[known].all()


def test_external_tables_bring_their_metadata(tmp_path):
    import cv2

    from podium.units.external import External

    comp = write_metadata_competition(tmp_path)
    (comp / "extra").mkdir()
    for i in ("x0", "x1"):
        cv2.imwrite(str(comp / "extra" / f"{i}.png"), np.full((8, 8, 3), 9, np.uint8))
    table = pd.DataFrame({"id": ["x0", "x1"], "label": ["a", "b"], "age": ["5", ""]})
    table.to_csv(comp / "extra.csv", index=False)
    cfg = _config(tmp_path)
    cfg.data.external = [{"table": "extra.csv", "images": "extra/{id}.png"}]
    with pytest.raises(DataError, match=r"extra\.csv: missing metadata column\(s\) \['site'\]"):
        validate(cfg)
    table.assign(site=["y", "new"]).to_csv(comp / "extra.csv", index=False)
    validate(cfg)
    folds_stage.run(cfg)
    rows = External(Experiment(cfg)).rows
    assert rows.metadata[:, 1].tolist() == [2, 0]  # 'new' is not a train.csv category
    assert rows.metadata[0, 0] == 5 and np.isnan(rows.metadata[1, 0])
