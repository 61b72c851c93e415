"""The experiment's network, built in one place for training, prediction and validation: the
timm model, or, when the competition lists metadata and `model.metadata.use` is on, the image
+ metadata network (podium.engine.metadata_net) around a timm backbone, or, for series
(`data.slices`), the 2.5D network (podium.series.network) around a timm encoder, or, for
volumes (`data.volume_size`), a MONAI 3-D network (podium.volumes.network)."""

from __future__ import annotations

import torch
from torch import nn

from podium.config import Config, ConfigError, ModelConfig
from podium.data.metadata import MetadataLayout, MetadataStats
from podium.engine.metadata_net import MetadataNet
from podium.engine.seeding import seed_everything
from podium.models import create_model, create_segmentation_model
from podium.series.network import SliceStackNet
from podium.volumes.network import VolumeNet, create_volume_network


def uses_metadata(cfg: Config) -> bool:
    """Whether the experiment's network takes metadata: listed, and `model.metadata.use`."""
    return cfg.competition.metadata is not None and cfg.model.metadata.use


def create_network(
    cfg: Config, num_outputs: int, layout: MetadataLayout | None = None, **overrides: object
) -> nn.Module:
    """The experiment's network: the timm model (`podium.models.create_model`), or, with
    `layout`, its backbone (num_classes=0) inside a MetadataNet. `overrides` replace
    `model:` keys (the predictor builds the architecture without pretrained weights)."""
    model_cfg = cfg.model.model_copy(update=overrides) if overrides else cfg.model
    if cfg.data.slices is not None:
        return _slice_network(cfg, model_cfg, num_outputs, layout)
    if cfg.data.volume_size is not None:
        return _volume_network(cfg, model_cfg, num_outputs, layout)
    if model_cfg.arch is not None:  # a segmentation decoder over a timm encoder
        return create_segmentation_model(model_cfg, num_outputs, cfg.data.n_channels)
    if layout is None:
        return create_model(model_cfg, num_outputs, cfg.data.n_channels)
    backbone = create_model(model_cfg, 0, cfg.data.n_channels)
    return MetadataNet(backbone, layout, num_outputs, cfg)


def _slice_network(
    cfg: Config, model_cfg: ModelConfig, num_outputs: int, layout: MetadataLayout | None
) -> nn.Module:
    """The 2.5D network (podium.series.network): the timm encoder `model.name` on windows of
    2k+1 slices (each of `data.windows`' channels), its per-slice features pooled by
    `model.sequence_head`."""
    slices = cfg.data.slices
    assert slices is not None
    if model_cfg.arch is not None or layout is not None:
        what = "model.arch (a segmentation decoder)" if model_cfg.arch else "model.metadata"
        raise ConfigError(f"data.slices: series do not take {what} yet; leave it out")
    channels = cfg.data.slice_channels  # one per window (data.windows), else 1
    encoder = create_model(model_cfg, 0, slices.window * channels)
    return SliceStackNet(
        encoder,
        num_outputs,
        context=slices.context,
        head=model_cfg.sequence_head,
        sample=slices.sample,
        stride=slices.stride,
        channels=channels,
    )


def _volume_network(
    cfg: Config, model_cfg: ModelConfig, num_outputs: int, layout: MetadataLayout | None
) -> nn.Module:
    """`model.arch: monai:<network>` (3-D, one input channel) inside a VolumeNet: random
    crops and flips in training, sliding windows over a volume larger than the crop."""
    assert cfg.data.volume_size is not None and model_cfg.arch is not None
    if layout is not None or model_cfg.pretrained or model_cfg.weights:
        what = "model.metadata" if layout is not None else "pretrained weights (model.pretrained)"
        raise ConfigError(f"data.volume_size: MONAI volumes do not take {what} yet; leave it out")
    net, head = create_volume_network(model_cfg.arch, num_outputs, model_cfg.kwargs)
    return VolumeNet(net, head, cfg.data.volume_size, cfg.data.volume_flips)


def build_model(
    cfg: Config,
    num_outputs: int,
    device: torch.device,
    seed: int,
    metadata: MetadataStats | None = None,
) -> torch.nn.Module:
    """Seed, create, move to the device, channels_last: in this order, so that a unit's
    initial weights depend on its seed alone. With `metadata` (a fold's statistics), the
    image + metadata network standardising by them."""
    seed_everything(seed)
    layout = metadata.layout if metadata is not None else None
    model = create_network(cfg, num_outputs, layout)
    if isinstance(model, MetadataNet) and metadata is not None:
        model.set_stats(metadata)
    model = model.to(device)
    if cfg.train.channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model
