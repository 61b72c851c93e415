"""Seeding. Every epoch re-seeds python, numpy and torch from (seed, epoch), so the random
stream an epoch sees does not depend on what ran before it: a run resumed at epoch e draws
exactly what the uninterrupted run drew (dropout, mixup, sampler order, augmentations)."""

from __future__ import annotations

import random

import numpy as np
import torch


def derive_seed(*parts: int) -> int:
    return int(np.random.SeedSequence(list(parts)).generate_state(1)[0])


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
