"""What trains in an epoch: the frozen-backbone warmup, gradual unfreezing and BatchNorm freeze.

Gradual unfreezing (`train.unfreeze.epochs`) reads the backbone's stages from timm
(`model.group_matcher(coarse=True)` through `timm.models.group_parameters`: stem, each
stage, the pre-logits norm) rather than from hand-written layer names, so it works for any
timm model. The classifier (`get_classifier()`) always trains. The groups are split from the
top down into one chunk per listed epoch; at each listed epoch the next chunk unfreezes, so
after the last one the whole network trains.

`train.freeze_bn` puts every BatchNorm layer in eval mode every epoch (after `model.train()`),
so its running statistics never change and it normalises with them, as at inference;
`freeze_bn_affine` also stops its weight and bias from training.

Everything here is a function of the epoch alone, so a resumed run sets the same flags.
"""

from __future__ import annotations

import numpy as np
import torch
from timm.models import group_parameters
from torch.nn.modules.batchnorm import _BatchNorm

from podium.config import ConfigError, TrainConfig
from podium.models import head_parameters


def stage_groups(model: torch.nn.Module) -> list[list[str]]:
    """The backbone's parameter names by timm stage group, bottom (stem) to top, classifier
    excluded; a model without a group matcher is one group."""
    head = head_parameters(model)
    named = dict(model.named_parameters())
    backbone = [n for n, p in named.items() if id(p) not in head]
    matcher = getattr(model, "group_matcher", None)
    if not callable(matcher):
        return [backbone] if backbone else []
    groups = group_parameters(model, matcher(coarse=True))
    keep = set(backbone)
    out = [[n for n in names if n in keep] for _, names in sorted(groups.items())]
    return [g for g in out if g]


def unfreeze_schedule(model: torch.nn.Module, cfg: TrainConfig) -> list[tuple[int, set[str]]]:
    """[(1-based epoch, parameter names it unfreezes)], top chunk first; a ConfigError when
    the model has fewer stage groups than `train.unfreeze.epochs` lists."""
    if cfg.unfreeze is None:
        return []
    groups = stage_groups(model)
    epochs = cfg.unfreeze.epochs
    if len(epochs) > len(groups):
        raise ConfigError(
            f"train.unfreeze.epochs lists {len(epochs)} steps but the model has "
            f"{len(groups)} stage groups (timm group_matcher); list at most {len(groups)}"
        )
    top_down = groups[::-1]
    chunks = np.array_split(np.arange(len(top_down)), len(epochs))
    return [
        (epoch, {n for i in chunk for n in top_down[i]})
        for epoch, chunk in zip(epochs, chunks, strict=True)
    ]


def batchnorm_layers(model: torch.nn.Module) -> list[_BatchNorm]:
    return [m for m in model.modules() if isinstance(m, _BatchNorm)]


def set_trainable(
    model: torch.nn.Module,
    cfg: TrainConfig,
    epoch: int,
    schedule: list[tuple[int, set[str]]],
) -> None:
    """Set `requires_grad` for 0-based `epoch`: the head always; the backbone after
    `freeze_backbone_epochs`, or by `schedule` chunks; BN affine parameters never with
    `freeze_bn_affine`."""
    head = head_parameters(model)
    frozen_bn = (
        {id(p) for m in batchnorm_layers(model) for p in m.parameters(recurse=False)}
        if cfg.freeze_bn_affine
        else set()
    )
    thawed = {n for e, names in schedule if epoch + 1 >= e for n in names}
    for name, p in model.named_parameters():
        if id(p) in head:
            trainable = True
        elif schedule:
            trainable = name in thawed
        else:
            trainable = epoch >= cfg.freeze_backbone_epochs
        p.requires_grad_(trainable and id(p) not in frozen_bn)


def train_mode(model: torch.nn.Module, freeze_bn: bool) -> None:
    """`model.train()`, with its BatchNorm layers in eval mode when `freeze_bn`: their running
    statistics are kept and used, as at inference."""
    model.train()
    if freeze_bn:
        for m in batchnorm_layers(model):
            m.eval()
