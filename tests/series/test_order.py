"""Slice order from the headers: position along the tilted normal, not file name or
InstanceNumber; the warnings and the refusal a user sees name what is wrong."""

from __future__ import annotations

import numpy as np
import pytest

from podium.series.order import SeriesOrderError, SliceHeader, order_slices

TILTED = (0.96, 0.0, -0.28, 0.0, 1.0, 0.0)  # row and column cosines of a tilted plane


def headers(places, instances=None, orientation=TILTED, names=None):
    row, col = np.array(orientation[:3]), np.array(orientation[3:])
    normal = np.cross(row, col)
    origin = np.array([10.0, -5.0, 3.0])
    out = []
    for i, p in enumerate(places):
        pos = origin + p * normal + 7.0 * row  # in-plane offsets do not move a slice
        out.append(
            SliceHeader(
                name=names[i] if names else f"f{i}.dcm",
                position=tuple(float(v) for v in pos),
                orientation=orientation,
                instance=None if instances is None else instances[i],
            )
        )
    return out


def test_orders_by_position_along_the_normal():
    order = order_slices(headers([5.0, 0.0, 10.0, 2.5, 7.5], instances=[3, 1, 5, 2, 4]))
    assert order.order == (1, 3, 0, 4, 2)
    assert order.places is not None and np.allclose(np.diff(order.places), 2.5)
    assert order.warnings == ()


def test_instance_numbers_running_against_the_normal_agree():
    order = order_slices(headers([0.0, 2.5, 5.0], instances=[3, 2, 1]))
    assert order.order == (0, 1, 2) and order.warnings == ()


def test_instance_numbers_that_disagree_warn_and_position_wins():
    order = order_slices(headers([0.0, 2.5, 5.0, 7.5], instances=[1, 3, 2, 4]))
    assert order.order == (0, 1, 2, 3)
    assert any("InstanceNumber order disagrees" in w for w in order.warnings)


def test_a_gap_is_a_warning_naming_the_slices():
    places = [0.0, 2.5, 5.0, 10.0, 12.5, 15.0]  # 7.5 missing
    order = order_slices(headers(places, names=[f"s{i}.dcm" for i in range(6)]))
    (warning,) = order.warnings
    assert "gap of 5 mm between slices s2.dcm and s3.dcm" in warning
    assert "median spacing 2.5 mm" in warning


def test_mixed_orientations_are_refused():
    a = headers([0.0, 2.5, 5.0])
    b = headers([7.5], orientation=(1.0, 0.0, 0.0, 0.0, 0.0, -1.0))  # a coronal localiser
    with pytest.raises(SeriesOrderError, match="mixed orientations .*3 slices .*1 slices"):
        order_slices([*a, *b])


def test_without_positions_instance_numbers_order_with_a_warning():
    hs = [SliceHeader(f"f{i}", None, None, n) for i, n in enumerate([2, 3, 1])]
    order = order_slices(hs)
    assert order.order == (2, 0, 1) and "ordered by InstanceNumber" in order.warnings[0]
