"""Model factory: timm models by name, with the head sized for the competition and weights
only from local files. `pretrained: true` without `weights:` reads timm's cache offline;
a miss is an error that says where to put the file, never a download.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import timm
import torch

from podium.config import ConfigError, ModelConfig


def create_model(cfg: ModelConfig, num_classes: int, in_chans: int = 3) -> torch.nn.Module:
    """Build `cfg.name` with `num_classes` outputs (binary tasks use 2, like multiclass) and
    `in_chans` input channels (`data.channels`): timm adapts pretrained RGB stem weights
    (summed for 1 channel, repeated and rescaled for more). `model.grad_checkpointing`
    recomputes activations in the backward pass: less memory, same numbers, ~30% slower."""
    model = _create(cfg, num_classes, in_chans)
    if cfg.grad_checkpointing:
        set_grad_checkpointing(model, cfg.name)
    return model


def set_grad_checkpointing(model: torch.nn.Module, name: str) -> None:
    """timm's `set_grad_checkpointing()`; a model without it is refused by name, not left
    silently at full memory."""
    enable = getattr(model, "set_grad_checkpointing", None)
    try:
        if enable is None:
            raise NotImplementedError("no set_grad_checkpointing()")
        enable(True)
    except (AssertionError, NotImplementedError) as e:
        raise ConfigError(
            f"model.grad_checkpointing: timm's {name} does not support gradient checkpointing "
            f"({e or type(e).__name__}); set model.grad_checkpointing=false"
        ) from None


def _create(cfg: ModelConfig, num_classes: int, in_chans: int) -> torch.nn.Module:
    if cfg.name not in timm.list_models() and not timm.is_model(cfg.name):
        close = difflib.get_close_matches(cfg.name, timm.list_models(), n=3)
        raise ConfigError(f"model.name: unknown timm model {cfg.name!r}; close: {close}")
    kwargs = dict(
        num_classes=num_classes,
        in_chans=in_chans,
        drop_rate=cfg.drop_rate,
        drop_path_rate=cfg.drop_path_rate,
        **cfg.kwargs,
    )
    if cfg.weights:
        path = Path(cfg.weights)
        if not path.is_file():
            raise ConfigError(f"model.weights: file not found: {path}")
        # timm loads the file, drops a mismatched classifier and adapts input channels
        return _timm_model(
            cfg, pretrained=True, pretrained_cfg_overlay=dict(file=str(path)), **kwargs
        )
    if cfg.pretrained:
        os.environ["HF_HUB_OFFLINE"] = "1"  # no network at run time
        # huggingface_hub reads the variable once, at import (timm imports it first): set
        # its flag too, or a cache miss retries the network for ~45 s before failing
        import huggingface_hub.constants  # local: only the pretrained path touches the hub

        huggingface_hub.constants.HF_HUB_OFFLINE = True
        try:
            return _timm_model(cfg, pretrained=True, **kwargs)
        except ConfigError:
            raise
        except Exception as e:
            raise ConfigError(
                f"model.pretrained: weights for {cfg.name!r} are not in the local cache and podium "
                f"does not download at run time ({type(e).__name__}). Download them once on a machine "
                "with network (timm.create_model(name, pretrained=True)) into HF_HOME, or set "
                "model.weights to a local file."
            ) from None
    return _timm_model(cfg, pretrained=False, **kwargs)


def _timm_model(cfg: ModelConfig, **kwargs) -> torch.nn.Module:
    """timm.create_model; a `model.kwargs` entry the model's constructor refuses is a
    ConfigError naming it, not a TypeError from deep inside timm."""
    try:
        return timm.create_model(cfg.name, **kwargs)
    except TypeError as e:
        if not cfg.kwargs:
            raise
        raise ConfigError(
            f"model.kwargs: timm's {cfg.name} does not accept {cfg.kwargs} ({e})"
        ) from None


def head_parameters(model: torch.nn.Module) -> set[int]:
    """ids of the classifier's parameters: the 'head' of discriminative LRs and freezing."""
    # Module.__getattr__ is typed Tensor | Module; timm models define get_classifier()
    head = model.get_classifier() if hasattr(model, "get_classifier") else None  # type: ignore[operator]
    if not isinstance(head, torch.nn.Module):
        return set()
    return {id(p) for p in head.parameters()}


def set_backbone_trainable(model: torch.nn.Module, trainable: bool) -> None:
    head = head_parameters(model)
    for p in model.parameters():
        if id(p) not in head:
            p.requires_grad_(trainable)
