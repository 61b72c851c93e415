"""A mask unit over two processes (torchrun, gloo on the CPU), as
tests/engine/test_distributed.py checks a classification unit: `podium train --fold 0 --seed
0` writes its checkpoints once (rank 0), both ranks evaluate the same EMA weights, the
validation maps (N, C, h, w) gathered from the ranks' row ranges score what one process
scores with the same weights, a stopped + resumed run ends with the same weights bit for bit,
and the weights are those of one process with the same global batch.

The one-process comparison trains the U-Net without its decoder's BatchNorm and with the
per-pixel `bce` loss: BatchNorm normalises each rank's share of the batch (SyncBatchNorm is
GPU-only) and smp's Dice and Jaccard losses are ratios of sums over the batch, so on each
rank's share they are not the global batch's loss; the shipped `bce+dice` with BatchNorm runs
too, for the EMA and the writes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from podium.cli import main
from podium.config import load_config
from podium.engine.checkpoint import load_checkpoint
from podium.experiment import Experiment
from podium.mask_data import fold_maps
from podium.metrics.segmentation import DICE_AT_HALF
from podium.segmentation.demo import write_segmentation_demo
from podium.units.train import fold_rows
from torchrun_runs import SCENARIOS, torchrun

ROOT = Path(__file__).resolve().parents[2]
UNET = ROOT / "configs/digits_segmentation/unet.yaml"
SIZE = 32


def write_config(tmp: Path, name: str, **model: object) -> Path:
    """A tiny U-Net run under tmp/name: 41 images of 32 px, 2 folds (21 validation rows,
    an odd number: the ranks' row ranges differ by one), 2 epochs of 5 global batches of 4
    (2 per rank), 2 micro-steps per update (no_sync), an EMA."""
    config = {
        "extends": str(UNET),
        "name": "ddp",
        "model": {"name": "test_convnext", "kwargs": {"decoder_channels": [16, 8, 8, 8, 8]}},
        "folds": {"n_splits": 2},
        "data": {"image_size": [SIZE, SIZE], "num_workers": 0},
        "train": {
            "epochs": 2,
            "batch_size": 4,
            "grad_accum": 2,
            "ema_decay": 0.9,
            "progress": False,
            "device": "cpu",
        },
        "infer": {"batch_size": 8, "tta": ["identity"]},
        "paths": {"data": str(tmp / "data"), "runs": str(tmp / name / "runs")},
    }
    config["model"]["kwargs"].update(model)  # type: ignore[union-attr]
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def unit_dir(tmp: Path, name: str) -> Path:
    return tmp / name / "runs/digits_segmentation/ddp/fold0/seed0"


def last_weights(tmp: Path, name: str) -> dict[str, torch.Tensor]:
    return load_checkpoint(unit_dir(tmp, name) / "last.pt")["model"]


@pytest.mark.processes
def test_two_processes_train_one_mask_unit_like_one_process(tmp_path):
    write_segmentation_demo(tmp_path / "data/digits_segmentation", SIZE, n_train=42, n_test=4)
    plain = {"decoder_use_norm": False}
    runs = {n: write_config(tmp_path, n, **plain) for n in ("a", "resumed", "single")}
    runs["shipped"] = write_config(tmp_path, "shipped")  # BatchNorm in the decoder
    spec = [
        {"config": str(runs["a"]), "overrides": ["train.loss=bce"]},
        # dies after epoch 1 (attempt 0); torchrun restarts the processes, which resume
        {
            "config": str(runs["resumed"]),
            "overrides": ["train.loss=bce", "train.stop_after_epoch=1"],
        },
        {"config": str(runs["shipped"]), "overrides": []},  # bce+dice
    ]
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    args = ["--standalone", "--max-restarts", "1", "--nproc-per-node", "2", str(SCENARIOS)]
    returncode, stderr = torchrun([*args, str(tmp_path / "spec.json"), str(tmp_path)])
    assert returncode == 0, stderr[-3000:]
    first = [json.loads((tmp_path / f"rank{r}-attempt0.json").read_text()) for r in range(2)]
    assert [run["exit"] for run in first[0]] == [0]  # then the second command died
    again = [json.loads((tmp_path / f"rank{r}-attempt1.json").read_text()) for r in range(2)]
    assert [run["exit"] for run in again[0]] == [0, 0, 0]
    assert again[0][0]["writes"] == []  # finished: skipped
    assert again[0][1]["writes"].count("last.pt") == 1  # epoch 2 only: resumed
    ranks = [f[:1] + a[1:] for f, a in zip(first, again, strict=True)]

    # checkpoints by rank 0 alone; both ranks evaluate the same EMA weights (and buffers)
    for run in (0, 2):
        assert ranks[0][run]["writes"].count("last.pt") == 2
        assert ranks[1][run]["writes"] == []
        assert len(ranks[0][run]["evaluated"]) == 2
        assert ranks[0][run]["evaluated"] == ranks[1][run]["evaluated"]

    # the gathered validation maps: the history scores what one process scores with best.pt
    for name in ("a", "shipped"):
        cfg = load_config(runs[name], [] if name == "shipped" else ["train.loss=bce"])
        exp = Experiment(cfg)
        _, valid = fold_rows(exp, 0)
        assert len(valid.images) % 2 == 1  # ranks' shares of 11 and 10 rows
        maps = fold_maps(exp, 0, valid.images, "best")
        result = json.loads((unit_dir(tmp_path, name) / "result.json").read_text())
        history = pd.read_csv(unit_dir(tmp_path, name) / "history.csv")
        assert len(history) == 2 and result["metric"] == "dice@0.5"
        best = history.iloc[result["best_epoch"] - 1]
        assert DICE_AT_HALF(valid.y, maps) == pytest.approx(best["valid_dice@0.5"], abs=1e-6)
        assert best["valid_dice@0.5"] == pytest.approx(result["best_score"], abs=1e-12)
        loss = exp.task.valid_loss(valid.y, maps)
        assert loss == pytest.approx(best["valid_loss"], rel=1e-4), name

    # a stopped + resumed run: the same weights, bit for bit
    a, resumed = last_weights(tmp_path, "a"), last_weights(tmp_path, "resumed")
    assert all(torch.equal(a[k], resumed[k]) for k in a)

    # one process, same config: the global batch is the same batch; only float sums differ
    unit = ["--fold", "0", "--seed", "0", "train.loss=bce"]
    assert main(["-q", "train", "-c", str(runs["single"]), *unit]) == 0
    single = last_weights(tmp_path, "single")
    floats = [k for k in a if a[k].is_floating_point()]
    assert max(float((a[k] - single[k]).abs().max()) for k in floats) < 1e-4
    assert not np.isnan([float(a[k].abs().sum()) for k in floats]).any()
