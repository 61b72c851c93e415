"""Model factory: timm models by name, with the head sized for the competition (and, for
segmentation, segmentation_models_pytorch's decoders over a timm encoder). Weights come
from a local file (`model.weights`) or, with `pretrained: true`, through timm's normal hub
path: downloaded once into the Hugging Face cache (`HF_HOME`) when the machine is online,
read from that cache when it is not (`HF_HUB_OFFLINE=1`); offline and not cached is a
ConfigError that says how to get the file (`podium weights`), never a silent random init.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from types import ModuleType
from typing import Any

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


SEGMENTATION_ARCHS = ("unet", "unetplusplus", "fpn", "deeplabv3plus", "segformer", "upernet")


def create_segmentation_model(
    cfg: ModelConfig, num_classes: int, in_chans: int = 3
) -> torch.nn.Module:
    """`cfg.arch` (any architecture segmentation_models_pytorch knows; `SEGMENTATION_ARCHS`
    are the common ones) over the timm encoder `cfg.name` (smp's `tu-<name>`), with one
    output channel per mask class. `pretrained: true` loads the encoder's ImageNet weights
    through timm's hub path, under the classification model's rules (cache, offline error).
    `model.grad_checkpointing` recomputes the encoder's activations in the backward pass."""
    import segmentation_models_pytorch as smp  # local: only segmentation builds decoders

    arch = str(cfg.arch)
    known = {name.lower() for name in smp.MODEL_ARCHITECTURES_MAPPING}
    if arch.lower() not in known:
        close = difflib.get_close_matches(arch.lower(), sorted(known), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"model.arch: unknown segmentation architecture {arch!r}{hint}")
    if cfg.name not in timm.list_models() and not timm.is_model(cfg.name):
        close = difflib.get_close_matches(cfg.name, timm.list_models(), n=3)
        raise ConfigError(f"model.name: unknown timm encoder {cfg.name!r}; close: {close}")

    def build(weights: bool | None, **encoder: Any) -> torch.nn.Module:
        try:
            model: torch.nn.Module = smp.create_model(
                arch,
                encoder_name=f"tu-{cfg.name}",
                encoder_weights=weights,  # smp's tu- encoders: True (pretrained) or None
                in_channels=in_chans,
                classes=num_classes,
                **encoder,
                **cfg.kwargs,
            )
        except TypeError as e:
            raise ConfigError(
                f"model.kwargs: smp's {arch} does not accept {cfg.kwargs} ({e})"
            ) from None
        if cfg.grad_checkpointing:  # the timm encoder's
            timm_encoder = model.get_submodule("encoder")  # smp's tu- wrapper: .model is timm's
            inner = getattr(timm_encoder, "model", timm_encoder)
            set_grad_checkpointing(inner if isinstance(inner, torch.nn.Module) else model, cfg.name)
        return model

    if cfg.weights:  # a local file (`podium weights --out`): timm loads it into the encoder
        path = Path(cfg.weights)
        if not path.is_file():
            raise ConfigError(f"model.weights: file not found: {path}")
        return build(True, pretrained_cfg_overlay=dict(file=str(path)))
    if not cfg.pretrained:
        return build(None)
    try:
        return build(True)
    except ConfigError:
        raise
    except Exception as e:
        raise ConfigError(_pretrained_error(cfg.name, e)) from None


def set_grad_checkpointing(model: torch.nn.Module, name: str) -> None:
    """timm's `set_grad_checkpointing()`; a model without it is refused by name, not left
    silently at full memory."""
    enable = getattr(model, "set_grad_checkpointing", None)
    why = "no set_grad_checkpointing()" if enable is None else None
    if enable is not None:
        try:
            enable(True)
        except (AssertionError, NotImplementedError) as e:  # timm's refusals
            why = str(e) or type(e).__name__
    if why is not None:
        raise ConfigError(
            f"model.grad_checkpointing: timm's {name} does not support gradient checkpointing "
            f"({why}); set model.grad_checkpointing=false"
        )


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
        try:
            return _timm_model(cfg, pretrained=True, **kwargs)
        except ConfigError:
            raise
        except Exception as e:
            raise ConfigError(_pretrained_error(cfg.name, e)) from None
    return _timm_model(cfg, pretrained=False, **kwargs)


def _offline() -> bool:
    import huggingface_hub.constants  # local: only the pretrained path touches the hub

    return bool(huggingface_hub.constants.HF_HUB_OFFLINE)


def _pretrained_error(name: str, e: Exception) -> str:
    how = (
        "fetch them once on a machine with network (`podium weights -c CONFIG --out DIR`, or "
        "`podium weights -c CONFIG` into HF_HOME's cache), or set model.weights to a local file"
    )
    if _offline():
        return (
            f"model.pretrained: weights for {name!r} are not in the local cache and HF_HUB_OFFLINE "
            f"is set ({type(e).__name__}); {how}"
        )
    return (
        f"model.pretrained: could not download the weights of {name!r} ({type(e).__name__}: "
        f"{_first_line(e)}); {how}"
    )


def _first_line(e: Exception) -> str:
    text = str(e).strip()
    return text.splitlines()[0][:200] if text else "no message"


def _timm_model(cfg: ModelConfig, **kwargs: Any) -> torch.nn.Module:
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


def fetch_weights(cfg: ModelConfig, out: Path | None = None) -> Path:
    """The pretrained weight file of `cfg.name`, through timm's hub path (Hugging Face hub, or
    the model's URL for the few that have no hub id): downloaded into the cache unless there,
    then copied to `out` when given (a folder to carry offline and name in `model.weights`).
    The file is checked by building the model from it, so a wrong file fails here, not later."""
    import shutil

    from timm.models import _hub, get_pretrained_cfg  # local: only this command uses them

    if cfg.name not in timm.list_models() and not timm.is_model(cfg.name):
        raise ConfigError(f"model.name: unknown timm model {cfg.name!r}")
    pcfg = get_pretrained_cfg(cfg.name)
    if pcfg is None or not (pcfg.hf_hub_id or pcfg.url):
        raise ConfigError(f"model.name: timm has no pretrained weights for {cfg.name!r}")
    try:
        if pcfg.hf_hub_id:
            model_id, revision = _hub.hf_split(pcfg.hf_hub_id)
            names = [pcfg.hf_hub_filename] if pcfg.hf_hub_filename else []
            names = names or ["model.safetensors", "pytorch_model.bin"]
            cached = _hub_file(_hub, model_id, revision, names)
        else:
            cached = Path(_hub.download_cached_file(str(pcfg.url)))
    except ConfigError:
        raise
    except Exception as e:
        raise ConfigError(_pretrained_error(cfg.name, e)) from None
    path = cached
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        path = out / f"{cfg.name}{''.join(cached.suffixes) or '.bin'}"
        shutil.copyfile(cached, path)
    # the check: timm loads the file as `model.weights` would (head adapted, channels summed)
    create_model(cfg.model_copy(update={"pretrained": False, "weights": str(path)}), 2)
    return path


def _hub_file(hub: ModuleType, model_id: str, revision: str | None, names: list[str]) -> Path:
    """The first of `names` the hub repository has (timm prefers safetensors, as here)."""
    from huggingface_hub.utils import EntryNotFoundError

    for i, name in enumerate(names):
        try:
            return Path(hub.hf_hub_download(model_id, filename=name, revision=revision))
        except EntryNotFoundError:
            if i == len(names) - 1:
                raise
    raise AssertionError("unreachable: names is never empty")
