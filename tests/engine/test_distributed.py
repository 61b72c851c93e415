"""One unit over two processes (torchrun, gloo on the CPU): `podium train --fold K --seed S`
under torchrun writes its checkpoints once (rank 0), keeps the EMA identical on every rank,
gives the same weights when run twice and after a stop + resume, and the weights of a
one-process run (the batch is global, the ranks' shares of it are exact); the sampler's
shards and the gathered validation rows lose and duplicate nothing. On a GPU (`-m cuda`):
`train.sync_bn` under torchrun with NCCL."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from podium.cli import main
from podium.config import ConfigError, TrainConfig
from podium.data.dataset import EpochSampler
from podium.engine import distributed
from podium.engine.checkpoint import load_checkpoint
from torchrun_runs import SCENARIOS, torchrun

ROOT = Path(__file__).resolve().parents[2]
SYNC_BN_SCRIPT = Path(__file__).with_name("torchrun_sync_bn.py")


# ---- the pieces, in one process ------------------------------------------------------------


@pytest.mark.parametrize("n", [10, 11, 13])
def test_shards_are_the_global_order_dealt_round_robin(n):
    sampler = EpochSampler(n, seed=3)
    sampler.set_epoch(2)
    order = list(sampler)
    shards = [list(distributed.ShardedSampler(sampler, r, 2)) for r in range(2)]
    assert [len(s) for s in shards] == [n // 2, n // 2]  # equal: the tail is dropped
    # per-rank batches of 2 rebuild the global batches of 4, (index, seed) pairs and all
    for b in range(n // 4):
        local = [pair for s in shards for pair in s[2 * b : 2 * b + 2]]
        assert sorted(local) == sorted(order[4 * b : 4 * b + 4])
    dealt = [p for s in shards for p in s]
    assert len(set(dealt)) == len(dealt)  # never padded with duplicates
    assert set(order) - set(dealt) <= set(order[2 * (n // 2) :])


def test_one_process_is_the_plain_case():
    assert distributed.current() == distributed.Ranks(0, 1, 0)
    assert distributed.row_range(7) == slice(0, 7)
    rows = np.arange(6.0).reshape(3, 2)
    assert distributed.gather_rows(rows, 3) is rows
    sampler = EpochSampler(5, seed=0)
    assert distributed.shard(sampler) is sampler


def test_the_batch_is_global_and_sync_bn_needs_gpus():
    with pytest.raises(ConfigError, match="must divide by the world size 3"):
        distributed.check_config(TrainConfig(batch_size=64), 3, torch.device("cpu"))
    with pytest.raises(ConfigError, match="SyncBatchNorm runs on GPUs only"):
        distributed.check_config(TrainConfig(sync_bn=True), 2, torch.device("cpu"))


def test_under_torchrun_only_one_unit_trains(monkeypatch, capsys, tmp_path, demo_data_root):
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "2")
    config = write_config(tmp_path, demo_data_root, "x")
    assert main(["train", "-c", str(config), "--fold", "0"]) == 2
    assert "pass --fold K --seed S" in capsys.readouterr().err
    assert main(["oof", "-c", str(config)]) == 2
    assert "only `podium train --fold K --seed S` runs over several" in capsys.readouterr().err
    unit = ["--fold", "0", "--seed", "0"]
    assert main(["train", "-c", str(config), *unit, "--devices", "0,1"]) == 2
    assert "run it without torchrun" in capsys.readouterr().err
    # checked before the process group is joined and before anything is written
    assert main(["train", "-c", str(config), *unit, "train.batch_size=15"]) == 2
    assert "train.batch_size=15 is the global batch" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


# ---- two processes -----------------------------------------------------------------------


def write_config(tmp_path: Path, data: Path, name: str) -> Path:
    config = {
        "extends": str(ROOT / "configs/digits/base.yaml"),
        "name": "ddp",
        "competition": {"solution": None},
        "model": {"name": "test_convnext"},  # no stochastic depth: ranks draw their own
        "folds": {"n_splits": 2},
        # 7 steps of a global batch of 16 (8 per rank), 2 micro-steps per update: no_sync
        "train": {
            "epochs": 2,
            "batch_size": 16,
            "grad_accum": 2,
            "ema_decay": 0.9,
            "progress": False,
            "device": "cpu",
        },
        "data": {"num_workers": 0},
        "infer": {"batch_size": 64},
        "paths": {"data": str(data), "runs": str(tmp_path / name / "runs")},
    }
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def last_weights(tmp_path: Path, name: str) -> dict[str, torch.Tensor]:
    return load_checkpoint(tmp_path / name / "runs/digits/ddp/fold0/seed0/last.pt")["model"]


@pytest.mark.processes
def test_two_processes_train_one_unit_like_one_process(tmp_path, small_demo):
    names = ("a", "b", "resumed", "single", "batchnorm")
    runs = {n: write_config(tmp_path, small_demo, n) for n in names}
    spec = [
        {"config": str(runs["a"]), "overrides": []},
        {"config": str(runs["b"]), "overrides": []},
        # dies after epoch 1 (attempt 0); torchrun restarts the processes, which resume
        {"config": str(runs["resumed"]), "overrides": ["train.stop_after_epoch=1"]},
        # BatchNorm: running statistics (and so the EMA) must not drift apart across ranks
        {"config": str(runs["batchnorm"]), "overrides": ["model.name=test_resnet"]},
    ]
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    # --max-restarts 1: the restarted ranks join a group again through torchrun's store
    args = ["--standalone", "--max-restarts", "1", "--nproc-per-node", "2"]
    returncode, stderr = torchrun(
        [*args, str(SCENARIOS), str(tmp_path / "spec.json"), str(tmp_path)]
    )
    assert returncode == 0, stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank{r}-attempt0.json").read_text()) for r in range(2)]
    assert [run["exit"] for run in ranks[0]] == [0, 0]  # then the third command died
    restarted = [json.loads((tmp_path / f"rank{r}-attempt1.json").read_text()) for r in range(2)]
    assert [run["exit"] for run in restarted[0]] == [0, 0, 0, 0]
    assert restarted[0][0]["writes"] == restarted[0][1]["writes"] == []  # finished: skipped
    assert restarted[0][2]["writes"].count("last.pt") == 1  # epoch 2 only: resumed
    ranks = [r[:2] + rr[2:] for r, rr in zip(ranks, restarted, strict=True)]

    # checkpoints: written by rank 0 alone, last.pt once per epoch, best.pt when it improves
    writes = ranks[0][0]["writes"]
    assert writes.count("last.pt") == 2 and 1 <= writes.count("best.pt") <= 2
    assert all(run["writes"] == [] for run in ranks[1])
    # the evaluated EMA weights (and buffers) are the same on both ranks at every validation
    for r0, r1 in zip(ranks[0], ranks[1], strict=True):
        assert len(r0["evaluated"]) and r0["evaluated"] == r1["evaluated"]

    # the same run twice, and a stopped + resumed run: the same weights, bit for bit
    a = last_weights(tmp_path, "a")
    for other in ("b", "resumed"):
        w = last_weights(tmp_path, other)
        assert all(torch.equal(a[k], w[k]) for k in a), other
    unit = tmp_path / "a/runs/digits/ddp/fold0/seed0"
    assert len(pd.read_csv(unit / "history.csv")) == 2 and (unit / "result.json").exists()

    # one process, same config: the global batch is the same batch; only float sums differ
    assert main(["-q", "train", "-c", str(runs["single"]), "--fold", "0", "--seed", "0"]) == 0
    single = last_weights(tmp_path, "single")
    assert max(float((a[k] - single[k]).abs().max()) for k in a if a[k].is_floating_point()) < 1e-4


@pytest.mark.cuda
def test_sync_batchnorm_under_torchrun_with_nccl(tmp_path, tiny_config):
    """One process per GPU (NCCL refuses two ranks on one device): BatchNorm becomes
    SyncBatchNorm inside DDP and, over one rank, trains exactly like the plain model."""
    cfg = tiny_config(
        "model.name=test_resnet", "train.sync_bn=true", "train.device=cuda", "train.batch_size=32"
    )
    (tmp_path / "config.json").write_text(json.dumps(cfg.resolved()))
    args = ["--standalone", "--nproc-per-node", "1", str(SYNC_BN_SCRIPT)]
    returncode, stderr = torchrun([*args, str(tmp_path / "config.json"), str(tmp_path)])
    assert returncode == 0, stderr[-3000:]
    seen = json.loads((tmp_path / "rank0.json").read_text())
    assert seen["backend"] == "nccl" and seen["world_size"] == 1 and seen["ddp"], seen
    assert seen["sync_bn_layers"] == seen["plain_bn_layers"] > 0
    assert seen["updates"] == 3 and seen["max_difference"] < 1e-5
