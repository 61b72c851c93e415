"""The 2.5D network and each sequence head: shapes forward and backward, any number of
slices, the windows of neighbouring slices, sampled positions in training only."""

from __future__ import annotations

import pytest
import timm
import torch

from podium.series.heads import HEADS, build_sequence_head
from podium.series.network import SliceStackNet


@pytest.mark.parametrize("name", HEADS)
def test_each_head_maps_slices_to_study_logits_and_back(name):
    head = build_sequence_head(name, features=16, outputs=3)
    for slices in (1, 5, 11):
        x = torch.randn(4, slices, 16, requires_grad=True)
        out = head(x)
        assert out.shape == (4, 3)
        out.sum().backward()
        assert x.grad is not None and x.grad.shape == x.shape
        assert all(p.grad is not None for p in head.parameters())


def test_an_unknown_head_is_named():
    with pytest.raises(ValueError, match="unknown sequence head 'lstm'"):
        build_sequence_head("lstm", 8, 1)


def net(head="attention", context=1, sample=None, stride=1):
    encoder = timm.create_model("test_resnet", num_classes=0, in_chans=2 * context + 1)
    return SliceStackNet(encoder, 2, context=context, head=head, sample=sample, stride=stride)


@pytest.mark.parametrize("name", HEADS)
def test_the_network_forward_and_backward(name):
    model = net(name, sample=3)
    x = torch.randn(2, 8, 32, 32)
    out = model(x)
    assert out.shape == (2, 2)
    out.sum().backward()
    assert all(p.grad is not None for p in model.encoder.parameters())
    model.eval()
    with torch.no_grad():
        assert model(x).shape == (2, 2)


def test_windows_hold_each_slice_with_its_neighbours_edges_repeated():
    model = net(context=1)
    x = torch.arange(5.0).view(1, 5, 1, 1).expand(1, 5, 2, 2)
    w = model.windows(x, torch.arange(5))
    assert w.shape == (1, 5, 3, 2, 2)
    assert w[0, :, :, 0, 0].tolist() == [[0, 0, 1], [0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 4]]


def test_training_samples_positions_prediction_sees_every_stride():
    model = net(sample=3, stride=2)
    model.train()
    picked = model.positions(10, torch.device("cpu"))
    assert len(picked) == 3 and bool((picked.diff() > 0).all())
    model.eval()
    assert model.positions(10, torch.device("cpu")).tolist() == [0, 2, 4, 6, 8]


def test_the_head_is_the_classifier_the_engine_trains_at_the_head_lr():
    model = net()
    assert model.get_classifier() is model.head
    ordinal = model.group_matcher(coarse=True)
    first = next(name for name, _ in model.named_parameters())
    assert first.startswith("encoder.") and ordinal(first) < ordinal("head.fc.weight")
