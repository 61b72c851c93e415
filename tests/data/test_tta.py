"""TTA views: label-preserving transforms of a (B, C, H, W) batch, looked up by name."""

from __future__ import annotations

import pytest
import torch

from podium.data.tta import get_view

X = torch.arange(2 * 3 * 5 * 6, dtype=torch.float32).reshape(2, 3, 5, 6)


def test_identity_leaves_the_batch_unchanged():
    assert torch.equal(get_view("identity")(X), X)


@pytest.mark.parametrize("name", ["hflip", "vflip", "transpose", "rot180"])
def test_involutions_undo_themselves(name):
    view = get_view(name)
    assert not torch.equal(view(X), X)
    assert torch.equal(view(view(X)), X)


def test_hflip_mirrors_columns():
    assert torch.equal(get_view("hflip")(X)[..., 0], X[..., -1])


def test_rotations_compose():
    r90, r270 = get_view("rot90"), get_view("rot270")
    assert torch.equal(r270(r90(X)), X)
    assert torch.equal(r90(r90(X)), get_view("rot180")(X))
    assert r90(X).shape == (2, 3, 6, 5)


@pytest.mark.parametrize("dx, dy", [(2, 1), (-1, 0), (0, -2)])
def test_shift_moves_pixels_and_repeats_the_border(dx, dy):
    out = get_view(f"shift{dx}_{dy}")(X)
    h, w = X.shape[-2:]
    for y in range(h):
        for x in range(w):
            # pixels shifted in from outside repeat the nearest edge pixel
            src_y, src_x = min(max(y - dy, 0), h - 1), min(max(x - dx, 0), w - 1)
            expected = X[..., src_y, src_x]
            assert torch.equal(out[..., y, x], expected), (y, x)


def test_scale_one_is_identity_and_zoom_in_keeps_the_centre():
    img = torch.zeros(1, 1, 9, 9)
    img[..., 4, 4] = 1.0
    assert torch.allclose(get_view("scale1.0")(img), img, atol=1e-6)
    zoomed = get_view("scale2")(img)
    assert zoomed.argmax().item() == 4 * 9 + 4  # the centre stays the centre
    assert (zoomed > 0).sum() > 1  # one pixel now covers several


def test_unknown_view_lists_the_known():
    with pytest.raises(ValueError, match=r"unknown TTA view 'hfip'.*hflip"):
        get_view("hfip")
