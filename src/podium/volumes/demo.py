"""The volumes demo competition, drawn locally (no download): small CT-like volumes written as
NIfTI files at varying voxel spacings (`podium demo-data --task volumes`):

    train.csv                      id,label   label: 1 if the volume holds a ball
    train_images/<id>.nii.gz       one volume per row (x, y, z; the affine holds the spacing)
    test.csv                       id
    test_images/<id>.nii.gz
    sample_submission.csv          id,label   (0.5: a placeholder)
    solution.csv                   id,label,Usage (hidden labels; Public/Private halves)

Every volume spans one field of view (32 x 36 x 36 mm, z, y, x) at a spacing drawn per volume
(z 1.5-2.5 mm, y = x 1-2 mm), so its array is 13-21 x 18-36 x 18-36 voxels: only a reader that
resamples by spacing sees one anatomy at one size. It is a smooth random background (in HU)
plus noise, and a rod (a bright bar along a random axis, in every volume). About 40% also
hold a ball (4.5 mm radius, about the rod's volume, fainter than the rod: 1.7 noise sd above
its background) at a random place: the label asks for a faint shape, which no single voxel's
intensity can tell.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from podium.artifacts import atomic_folder

SEED = 2026
N_TRAIN, N_TEST = 240, 80
FIELD_MM = (32.0, 36.0, 36.0)  # z, y, x
Z_SPACINGS, XY_SPACINGS = (1.5, 2.0, 2.5), (1.0, 1.5, 2.0)
BALL_SHARE, BALL_RADIUS_MM = 0.4, 4.5
ROD_MM = (18.0, 4.0)  # length, square side
NOISE_HU, BALL_HU, ROD_HU = 30.0, 50.0, 60.0  # the ball: 1.7 noise sd above its background
FILES = ("train.csv", "test.csv", "sample_submission.csv", "solution.csv")


def _grid(spacing: tuple[float, float, float]) -> tuple[np.ndarray, ...]:
    """Voxel centres in mm (z, y, x), each (D, H, W)."""
    shape = [int(round(f / s)) for f, s in zip(FIELD_MM, spacing, strict=True)]
    axes = [(np.arange(n) + 0.5) * s for n, s in zip(shape, spacing, strict=True)]
    return tuple(np.meshgrid(*axes, indexing="ij"))


def make_volume(
    rng: np.random.Generator, ball: bool, spacing: tuple[float, float, float]
) -> np.ndarray:
    """One volume (D, H, W) in HU at `spacing` (see the module docstring)."""
    z, y, x = _grid(spacing)
    phase = rng.uniform(0, 2 * np.pi, 3)
    smooth = np.sin(z / 9 + phase[0]) * np.cos(y / 11 + phase[1]) + np.sin(x / 10 + phase[2])
    hu = 40 + 15 * smooth + rng.normal(0, NOISE_HU, z.shape)
    centre = [rng.uniform(8, f - 8) for f in FIELD_MM]
    axis = int(rng.integers(3))
    half = [ROD_MM[1] / 2] * 3
    half[axis] = ROD_MM[0] / 2
    rod = np.ones(z.shape, bool)
    for coord, c, h in zip((z, y, x), centre, half, strict=True):
        rod &= np.abs(coord - c) <= h
    hu[rod] += ROD_HU
    if ball:
        b = [rng.uniform(BALL_RADIUS_MM + 3, f - BALL_RADIUS_MM - 3) for f in FIELD_MM]
        inside = (z - b[0]) ** 2 + (y - b[1]) ** 2 + (x - b[2]) ** 2 <= BALL_RADIUS_MM**2
        hu[inside] += BALL_HU
    out: np.ndarray = hu.astype(np.float32)
    return out


def write_nifti(path: Path, values: np.ndarray, spacing: tuple[float, float, float]) -> None:
    """`values` (D, H, W) at `spacing` (z, y, x) as a NIfTI file (x, y, z; int16)."""
    import nibabel as nib  # local for import cost: only the demo and tests write NIfTI

    affine = np.diag([spacing[2], spacing[1], spacing[0], 1.0])
    data = np.rint(values).astype(np.int16).transpose(2, 1, 0)
    nib.save(nib.Nifti1Image(data, affine), str(path))


def write_volumes_demo(out: Path, n_train: int = N_TRAIN, n_test: int = N_TEST) -> Path:
    """The demo under `out` (see the module docstring); idempotent (a complete folder is left
    alone) and atomic (built in a temporary folder, then renamed). Tests draw a smaller one."""
    if all((out / f).is_file() for f in FILES):
        return out
    rng = np.random.default_rng(SEED)
    with atomic_folder(out) as tmp:
        tables = {}
        for split, n in (("train", n_train), ("test", n_test)):
            (tmp / f"{split}_images").mkdir()
            labels = (rng.random(n) < BALL_SHARE).astype(int)
            ids = [f"{split}_{i:04d}" for i in range(n)]
            for vid, label in zip(ids, labels, strict=True):
                xy = float(rng.choice(XY_SPACINGS))
                spacing = (float(rng.choice(Z_SPACINGS)), xy, xy)
                volume = make_volume(rng, bool(label), spacing)
                write_nifti(tmp / f"{split}_images" / f"{vid}.nii.gz", volume, spacing)
            tables[split] = pd.DataFrame({"id": ids, "label": labels})
        tables["train"].to_csv(tmp / "train.csv", index=False)
        test = tables["test"]
        test[["id"]].to_csv(tmp / "test.csv", index=False)
        test[["id"]].assign(label=0.5).to_csv(tmp / "sample_submission.csv", index=False)
        usage = np.where(
            np.random.default_rng(SEED + 1).random(len(test)) < 0.5, "Public", "Private"
        )
        test[["id", "label"]].assign(Usage=usage).to_csv(tmp / "solution.csv", index=False)
    return out
