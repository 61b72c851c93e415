"""Device and numeric precision: bf16 autocast on GPUs that have it, fp16 with a grad scaler
on older GPUs, fp32 on the CPU (CPU autocast is slower than fp32 for convnets)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Precision:
    device: torch.device
    dtype: torch.dtype  # autocast dtype; float32 = no autocast

    @property
    def uses_scaler(self) -> bool:
        return self.dtype == torch.float16

    def autocast(self):
        if self.dtype == torch.float32:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    def grad_scaler(self) -> torch.amp.GradScaler:
        return torch.amp.GradScaler(self.device.type, enabled=self.uses_scaler)


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def resolve_precision(device: torch.device, name: str) -> Precision:
    if device.type != "cuda":
        if name in ("bf16", "fp16"):
            # honoured on CPU too, for tests of the AMP path; auto stays fp32 there
            return Precision(device, torch.bfloat16 if name == "bf16" else torch.float32)
        return Precision(device, torch.float32)
    if name == "auto":
        name = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return Precision(
        device, {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[name]
    )
