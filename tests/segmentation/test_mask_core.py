"""Mask units in the one training core (`engine.trainer.fit`): what segmentation gained by
training there, through the CLI on a tiny copy of the demo (32 train images of 64 px, 2
folds): SWA (swa.pt made, scored and predicted with as `train.checkpoint: swa` says),
snapshots (saved, scored, merged by oof), progressive resizing (the loader's size changes per
stage and the masks follow their images), `podium lr-find`, the device pool (`--devices
cpu,cpu`, one process per unit) and the encoder's gradient checkpointing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from factories import tiny_mask_overrides
from podium.cli import main
from podium.config import load_config
from podium.data.resize import resize_channels
from podium.experiment import Experiment
from podium.mask_data import fold_maps
from podium.mask_store import OOF_MAPS, read_maps
from podium.segmentation.demo import write_segmentation_demo

ROOT = Path(__file__).resolve().parents[2]
UNET = ROOT / "configs/digits_segmentation/unet.yaml"
SIZE = 64


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("seg")
    write_segmentation_demo(tmp / "data/digits_segmentation", size=SIZE, n_train=32, n_test=8)
    return tmp


@pytest.fixture
def tmp(demo: Path, tmp_path: Path) -> Path:
    shutil.copytree(demo / "data", tmp_path / "data")
    return tmp_path


def args(tmp: Path, *extra: str) -> list[str]:
    return ["-c", str(UNET), *tiny_mask_overrides(tmp, SIZE, epochs=2), *extra]


def test_swa_is_made_scored_and_predicted_with(tmp):
    extra = ("train.swa={start_epoch: 1, lr: 0.001}", "train.checkpoint=swa")
    assert main(["oof", *args(tmp, *extra)]) == 0
    cfg = load_config(UNET, args(tmp, *extra)[2:])
    exp = Experiment(cfg)
    for k in (0, 1):
        unit = exp.unit_dir(k, 0)
        result = json.loads((unit / "result.json").read_text())
        assert (unit / "swa.pt").is_file() and result["metric"] == "dice@0.5"
        assert 0 <= result["swa_score"] <= 1
        history = (unit / "history.csv").read_text().splitlines()[0]
        assert "valid_dice@0.5" in history
    # oof predicted with swa.pt, not best.pt
    ids = [str(i) for i in exp.comp.train_ids]
    oof = read_maps(cfg.run_dir / OOF_MAPS, ids)
    rows = np.flatnonzero(exp.fold_of_row == 0)
    images = exp.train_images[rows]
    swa = fold_maps(exp, 0, images, "swa").astype(np.float16).astype(np.float32)
    best = fold_maps(exp, 0, images, "best").astype(np.float16).astype(np.float32)
    assert np.allclose(oof[rows], swa, atol=1e-3)
    assert not np.allclose(oof[rows], best, atol=1e-3)


def test_progressive_resizing_resizes_the_masks_with_the_images(tmp, monkeypatch):
    from podium.engine import trainer
    from podium.units.train import train_units

    seen = []
    real = trainer.build_train_loader

    def spy(cfg, task, rows, seed, device, size=None):
        loader, sampler = real(cfg, task, rows, seed, device, size)
        x, target, weight = next(iter(loader))
        dataset = loader.dataset
        seen.append((size, x.shape, target.shape, dataset))
        return loader, sampler

    monkeypatch.setattr(trainer, "build_train_loader", spy)
    stages = "train.stages=[{epochs: 1, image_size: 32}, {epochs: 1}]"
    flip = "data.train_augs=[{name: HorizontalFlip, p: 0.5}]"
    cfg = load_config(UNET, [*args(tmp, stages, flip, "train.folds=[0]")[2:]])
    assert main(["folds", *args(tmp)]) == 0
    train_units(Experiment(cfg))
    assert [s[0] for s in seen] == [(32, 32), (SIZE, SIZE)]
    (_, x_small, t_small, small), (_, x_large, t_large, large) = seen
    assert x_small[1:3] == (32, 32) and t_small[2:] == (32, 32)
    assert x_large[1:3] == (SIZE, SIZE) and t_large[2:] == (SIZE, SIZE)
    for i, seed in [(0, 3), (5, 11), (9, 4)]:  # the same augmentation at both sizes
        _, m_small, _ = small[(i, seed)]
        _, m_large, _ = large[(i, seed)]
        hwc = np.ascontiguousarray(m_large.numpy().transpose(1, 2, 0))
        expected = resize_channels(hwc, 32, 32, cv2.INTER_NEAREST).transpose(2, 0, 1)
        assert np.array_equal(m_small.numpy(), expected)
    history = (cfg.run_dir / "fold0/seed0/history.csv").read_text().splitlines()
    assert len(history) == 3  # header + 2 epochs


def test_lr_find_through_the_cli(tmp, capsys):
    assert main(["lr-find", *args(tmp), "--steps", "8"]) == 0
    out = capsys.readouterr().out
    assert "suggested train.lr=" in out
    cfg = load_config(UNET, args(tmp)[2:])
    lines = (cfg.run_dir / "lr_find.csv").read_text().splitlines()
    assert lines[0] == "lr,loss" and 2 <= len(lines) - 1 <= 8
    assert (cfg.run_dir / "lr_find.png").is_file()


@pytest.mark.processes
def test_the_device_pool_trains_mask_units_in_their_own_processes(tmp, monkeypatch, capsys):
    monkeypatch.setenv("PYTHONPATH", str(ROOT / "src"))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert main(["train", *args(tmp), "--devices", "cpu,cpu"]) == 0, capsys.readouterr().err
    cfg = load_config(UNET, args(tmp)[2:])
    for k in (0, 1):
        result = json.loads((cfg.run_dir / f"fold{k}/seed0/result.json").read_text())
        assert result["metric"] == "dice@0.5" and result["epochs_run"] == 2
    # a re-run finds every unit finished
    assert main(["train", *args(tmp), "--devices", "cpu,cpu"]) == 0


def test_grad_checkpointing_recomputes_the_encoder_with_the_same_gradients(tmp):
    import torch

    from podium.engine.network import create_network

    grads = []
    for on in (False, True):
        cfg = load_config(UNET, args(tmp, f"model.grad_checkpointing={str(on).lower()}")[2:])
        torch.manual_seed(0)
        model = create_network(cfg, 1, pretrained=False).train()
        assert getattr(model.encoder.model, "grad_checkpointing", False) is on
        torch.manual_seed(1)
        model(torch.randn(2, 3, SIZE, SIZE)).square().mean().backward()
        grads.append(next(model.encoder.parameters()).grad.clone())
    assert torch.allclose(grads[0], grads[1], atol=1e-6)


def test_snapshots_are_saved_scored_and_merged_by_oof(tmp):
    extra = ("train.cycles=2", "train.snapshots=true", "train.checkpoint=snapshots")
    assert main(["oof", *args(tmp, *extra)]) == 0
    cfg = load_config(UNET, args(tmp, *extra)[2:])
    exp = Experiment(cfg)
    unit = exp.unit_dir(0, 0)
    assert (unit / "snapshot1.pt").is_file() and (unit / "snapshot2.pt").is_file()
    assert 0 <= json.loads((unit / "result.json").read_text())["snapshots_score"] <= 1
    rows = np.flatnonzero(exp.fold_of_row == 0)
    oof = read_maps(cfg.run_dir / OOF_MAPS, [str(i) for i in exp.comp.train_ids])[rows]
    last = fold_maps(exp, 0, exp.train_images[rows], "snapshot2")
    merged = fold_maps(exp, 0, exp.train_images[rows])  # both snapshots, as oof merged them
    assert np.allclose(oof, merged.astype(np.float16).astype(np.float32), atol=1e-3)
    assert not np.allclose(oof, last, atol=1e-3)
