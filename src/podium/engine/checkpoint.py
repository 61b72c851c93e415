"""Checkpoint io: written atomically, read with `weights_only=True` (no pickle execution).
Checkpoints hold only tensors and plain Python values so that the safe loader accepts them.

    best.pt  {"model": state_dict of the evaluated weights (EMA when on), "epoch", "score"}
    last.pt  everything to resume exactly: model, optimizer, scheduler, scaler, EMA, epoch,
             update count, early-stopping state and history
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from podium.artifacts import save_with


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    save_with(path, lambda tmp: torch.save(state, tmp))


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    return torch.load(path, map_location=map_location, weights_only=True)


def inference_state(unit_dir: Path, which: str = "best") -> dict[str, torch.Tensor]:
    """The weights oof/infer use: best.pt's, or last.pt's evaluated weights (EMA when on)."""
    if which == "best":
        return load_checkpoint(unit_dir / "best.pt")["model"]
    state = load_checkpoint(unit_dir / "last.pt")
    return state["ema"] if state.get("ema") is not None else state["model"]
