"""The weights a run keeps beside best/last: each warm-restart cycle's snapshot, and the SWA
average at the end of the run (BN statistics recomputed, validated, saved as `swa.pt`).

    snapshot{i}.pt  the evaluated weights (EMA when on) at the end of cycle i (`train.snapshots`)
    swa.pt          the SWA average with its BatchNorm statistics recomputed (`train.swa`)

Both are scored on the validation fold for result.json (`swa_score`, `snapshots_score`: the
snapshots' predictions merged by `infer.merge`, as oof/infer merge them), with the score the
epochs were selected on (`Task.monitor`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from podium.config import Config, TrainConfig
from podium.engine import distributed
from podium.engine.checkpoint import load_checkpoint, save_checkpoint
from podium.engine.swa import Swa
from podium.tasks import Task

_log = logging.getLogger(__name__)

Evaluate = Callable[[torch.nn.Module], np.ndarray]  # model -> validation logits (N, C[, h, w])

# the validation score result.json records for the weights each `train.checkpoint` predicts with
SCORE_OF = {
    "best": "best_score",
    "last": "final_score",
    "swa": "swa_score",
    "snapshots": "snapshots_score",
}


def checkpoint_score(result: dict, checkpoint: str) -> float:
    """A unit's validation score for the weights oof/infer will use (tune's objective)."""
    return float(result[SCORE_OF[checkpoint]])


def save_snapshot(
    unit_dir: Path, tc: TrainConfig, epoch: int, model: torch.nn.Module, score: float
) -> None:
    """At the end of a cycle (0-based `epoch`), save `model` as that cycle's snapshot."""
    cycle_epochs = tc.epochs // tc.cycles
    if tc.snapshots and (epoch + 1) % cycle_epochs == 0:
        save_checkpoint(
            unit_dir / f"snapshot{(epoch + 1) // cycle_epochs}.pt",
            {"model": model.state_dict(), "epoch": epoch + 1, "score": score},
        )


def finish(
    cfg: Config,
    task: Task,
    y: np.ndarray,
    unit_dir: Path,
    model: torch.nn.Module,
    swa: Swa | None,
    evaluate: Evaluate,
    recompute_bn: Callable[[torch.nn.Module], None],
) -> dict[str, float]:
    """After the last epoch: write swa.pt; score the SWA average and the snapshots' merge.
    `model` (the trained network, already saved in last.pt) is reused to load snapshots."""
    metric, scores = task.monitor, {}  # as the epochs were scored (`trainer.fit`)
    if swa is not None and swa.n_averaged:
        if not cfg.train.freeze_bn:  # the average's BN statistics, from the training data
            recompute_bn(swa.module)
            distributed.broadcast_buffers(swa.module)  # rank 0's (each rank saw its shard)
        scores["swa_score"] = metric(y, task.activate(evaluate(swa.module)))
        save_checkpoint(
            unit_dir / "swa.pt",
            {
                "model": swa.module.state_dict(),
                "n_averaged": swa.n_averaged,
                "score": scores["swa_score"],
            },
        )
        _log.info(
            "  swa: %d epochs averaged, valid %s %.4f",
            swa.n_averaged,
            metric.name,
            scores["swa_score"],
        )
    if cfg.train.snapshots:
        distributed.current().barrier()  # the snapshots rank 0 wrote are read below
        device = next(model.parameters()).device
        logits = []
        for i in range(1, cfg.train.cycles + 1):
            model.load_state_dict(load_checkpoint(unit_dir / f"snapshot{i}.pt", device)["model"])
            logits.append(evaluate(model))
        scores["snapshots_score"] = metric(y, task.merge(np.stack(logits), cfg.infer.merge))
    return scores
