"""The order of a series' slices, from their DICOM headers, and what is wrong with a series.

Why position, not InstanceNumber: the slices of a series lie along the normal of their
common plane, whose direction is the cross product of ImageOrientationPatient's row and
column cosines; each slice's place along it is its ImagePositionPatient projected on that
normal. InstanceNumber is the scanner's numbering, which can run the other way or restart;
it is the fallback when positions are missing, and a warning when it disagrees (neither
rising nor falling along the positions). File names order nothing (they are often UIDs).

What is refused or reported, each naming the series:
- slices of different orientations (a localiser mixed into an axial series): an error;
- a gap: a spacing above `GAP_FACTOR` times the median spacing (a missing slice): a warning;
- slices sharing one position (a duplicate): a warning;
- no positions: ordered by InstanceNumber (else by file name), with a warning.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

GAP_FACTOR = 1.5  # spacing / median spacing above which a slice is reported missing
ORIENTATION_TOLERANCE = 1e-3  # direction cosines that differ less are one orientation


@dataclass(frozen=True)
class SliceHeader:
    """What ordering reads from one slice's header (None: the tag is absent)."""

    name: str
    position: tuple[float, float, float] | None
    orientation: tuple[float, ...] | None  # six direction cosines (row, then column)
    instance: int | None


@dataclass(frozen=True)
class SliceOrder:
    """The slices in order (indices into the headers given), their places along the normal
    (mm, None when ordered without positions) and the warnings to show, one line each."""

    order: tuple[int, ...]
    places: tuple[float, ...] | None
    warnings: tuple[str, ...]


class SeriesOrderError(ValueError):
    """A series that cannot be ordered (mixed orientations); the reader names its folder."""


def order_slices(headers: Sequence[SliceHeader]) -> SliceOrder:
    """The slices' order by position along the normal (see the module docstring)."""
    if not headers:
        raise SeriesOrderError("no slices")
    if all(h.position is not None and h.orientation is not None for h in headers):
        return _by_position(headers)
    instances = [h.instance for h in headers]
    if all(i is not None for i in instances):
        order = tuple(int(i) for i in np.argsort(np.array(instances), kind="stable"))
        why = "no ImagePositionPatient/ImageOrientationPatient in every slice"
        return SliceOrder(order, None, (f"{why}: ordered by InstanceNumber",))
    order = tuple(int(i) for i in np.argsort([h.name for h in headers], kind="stable"))
    return SliceOrder(order, None, ("no slice positions or InstanceNumbers: ordered by file name",))


def _by_position(headers: Sequence[SliceHeader]) -> SliceOrder:
    orientations = np.array([h.orientation for h in headers], dtype=np.float64)
    distinct = _distinct_rows(orientations)
    if len(distinct) > 1:
        counts = ", ".join(f"{n} slices {_fmt(o)}" for o, n in distinct)
        raise SeriesOrderError(f"mixed orientations (ImageOrientationPatient): {counts}")
    row, col = orientations[0, :3], orientations[0, 3:]
    normal = np.cross(row, col)
    places = np.array([h.position for h in headers], dtype=np.float64) @ normal
    order = np.argsort(places, kind="stable")
    sorted_places = places[order]
    notes = [*_spacing_notes(sorted_places, [headers[i].name for i in order])]
    instances = [headers[i].instance for i in order]
    if all(i is not None for i in instances) and len(instances) > 1:
        steps = np.diff(np.array(instances, dtype=np.int64))
        if not ((steps > 0).all() or (steps < 0).all()):
            notes.append(
                "InstanceNumber order disagrees with the slice positions "
                "(ImagePositionPatient along the normal): ordered by position"
            )
    return SliceOrder(
        tuple(int(i) for i in order), tuple(float(p) for p in sorted_places), tuple(notes)
    )


def _spacing_notes(places: np.ndarray, names: list[str]) -> list[str]:
    if len(places) < 3:
        return []
    spacing = np.diff(places)
    notes = []
    same = np.flatnonzero(spacing < 1e-4)
    if len(same):
        i = int(same[0])
        notes.append(f"{len(same)} slice(s) share a position with another ({names[i + 1]})")
    median = float(np.median(spacing[spacing >= 1e-4])) if (spacing >= 1e-4).any() else 0.0
    gaps = np.flatnonzero(spacing > GAP_FACTOR * median) if median > 0 else np.array([], int)
    if len(gaps):
        i = int(gaps[0])
        notes.append(
            f"gap of {spacing[i]:.3g} mm between slices {names[i]} and {names[i + 1]} "
            f"(median spacing {median:.3g} mm; {len(gaps)} gap(s) over {GAP_FACTOR}x the "
            "median): a missing slice?"
        )
    return notes


def _distinct_rows(rows: np.ndarray) -> list[tuple[np.ndarray, int]]:
    """Each distinct orientation (within the tolerance) and how many slices have it."""
    groups: list[list] = []
    for r in rows:
        for g in groups:
            if np.abs(g[0] - r).max() < ORIENTATION_TOLERANCE:
                g[1] += 1
                break
        else:
            groups.append([r, 1])
    return [(g[0], g[1]) for g in groups]


def _fmt(orientation: np.ndarray) -> str:
    return "[" + ", ".join(f"{v:.3g}" for v in orientation) + "]"
