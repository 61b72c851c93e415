"""Checkpoint io: written atomically, read with `weights_only=True` (no pickle execution).
Checkpoints hold only tensors and plain Python values so that the safe loader accepts them.

    best.pt  {"model": state_dict of the evaluated weights (EMA when on), "epoch", "score"}
    last.pt  everything to resume exactly: model, optimizer, scheduler, scaler, EMA, SWA
             (average, n_averaged, SWALR), epoch, update count, early-stopping state, history
    swa.pt   {"model": the SWA average with recomputed BN statistics, "n_averaged", "score"}
    snapshot{i}.pt  {"model", "epoch", "score"}: the evaluated weights at the end of cycle i
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from pickle import UnpicklingError  # only to name torch's refusal; nothing is unpickled
from typing import Any

import torch

from podium.artifacts import ArtifactError, save_with
from podium.engine.distributed import current


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Written once: in a process group (torchrun) by rank 0 only, the others holding the
    same weights. A full disk is an ArtifactError naming the file and about its size."""
    if current().is_main:
        save_with(path, lambda tmp: torch.save(state, tmp), needed=tensor_bytes(state))


def tensor_bytes(obj: Any) -> int:
    """The bytes of every tensor in a (nested) checkpoint state: about its size on disk."""
    if isinstance(obj, torch.Tensor):
        return obj.numel() * obj.element_size()
    if isinstance(obj, dict):
        return sum(tensor_bytes(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return sum(tensor_bytes(v) for v in obj)
    return 0


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """A podium checkpoint; a truncated or corrupt file, or a pickle of arbitrary objects
    (which `weights_only=True` refuses to run), is an ArtifactError saying how to recover."""
    path = Path(path)
    if (path.parent / "result.json").exists():  # a finished unit: only retraining remakes it
        recover = (
            f"delete {path.parent} to retrain this unit, or re-run `podium train` with --force"
        )
    else:
        recover = "delete it to restart this unit from scratch, or re-run with --force"
    try:
        with warnings.catch_warnings():  # torch's notice on a pickle's protocol: the error says it
            warnings.filterwarnings("ignore", message="Detected pickle protocol")
            state = torch.load(path, map_location=map_location, weights_only=True)
    except (UnpicklingError, RuntimeError, EOFError, KeyError, ValueError) as e:
        text = str(e).strip()
        if "Weights only load failed" in text and _pickled(path):
            why = re.search(r"WeightsUnpickler error:\s*(.+?)(?:\. Please|\n\n|$)", text, re.S)
            raise ArtifactError(
                f"{path} is not a weights-only checkpoint: it pickles objects other than tensors "
                f"and plain values ({why.group(1).strip() if why else 'refused by weights_only'}), "
                f"which podium never loads; {recover}"
            ) from None
        detail = text.splitlines()[0].split(". ")[0] if text else type(e).__name__
        raise ArtifactError(
            f"{path} is unreadable (truncated or corrupt: {detail}); {recover}"
        ) from None
    if not isinstance(state, dict) or "model" not in state:
        raise ArtifactError(f"{path} is not a podium checkpoint (no 'model' weights); {recover}")
    return state


def _pickled(path: Path) -> bool:
    """Whether a file starts as torch's zip format or a pickle (PROTO opcode) does, rather
    than as noise: a refused pickle is planted, not corrupt."""
    with open(path, "rb") as f:
        return f.read(2) in (b"PK", *(bytes([0x80, v]) for v in range(2, 6)))


def checkpoint_members(which: str, cycles: int) -> list[str]:
    """The weights one unit predicts with for `train.checkpoint`: one set, or for `snapshots`
    each cycle's snapshot (their predictions are merged like seeds')."""
    if which == "snapshots":
        return [f"snapshot{i}" for i in range(1, cycles + 1)]
    return [which]


def inference_state(unit_dir: Path, which: str = "best") -> dict[str, torch.Tensor]:
    """The weights oof/infer use: best.pt's, swa.pt's, a snapshot's (`snapshot{i}`), or
    last.pt's evaluated weights (EMA when on)."""
    if which != "last":
        path = unit_dir / f"{which}.pt"
        if not path.exists():
            raise ArtifactError(
                f"{path} does not exist: the unit was trained without it (train.swa / "
                "train.snapshots) or stopped early; retrain it with --force"
            )
        weights: dict[str, torch.Tensor] = load_checkpoint(path)["model"]
        return weights
    state = load_checkpoint(unit_dir / "last.pt")
    weights = state["ema"] if state.get("ema") is not None else state["model"]
    return weights
