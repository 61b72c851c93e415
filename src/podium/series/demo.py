"""The series demo competition, drawn locally (no download): noisy CT-like studies of 16-48
slices of 32-48 px, written as real DICOM series (`podium demo-data --task series`):

    train.csv                 id,patient_id,label   label: 1 if the study holds a finding
    train_images/<id>/*.dcm   one file per slice, names shuffled (random hex)
    test.csv                  id,patient_id
    test_images/<id>/*.dcm
    sample_submission.csv     id,label   (0.5: a placeholder)
    solution.csv              id,label,Usage (hidden labels; Public/Private halves)

Each study is a smooth random volume (blurred 3-D noise) plus pixel noise, in HU with a
soft-tissue window in the files. Its finding (about 40% of studies) is a digit present in
4-7 consecutive slices, faint in each. Every study also carries distractors: one or two
digits flashed in a single slice (as bright as the finding: the label asks for persistence,
which a slice seen alone cannot tell) and a ring running through several slices (a shape, not
a digit). The slices lie along a random tilted normal with a random origin; InstanceNumber
runs along or against it. Some patients have two studies (group the folds by patient_id).

`multitarget=True` (`podium demo-data --task series_multitarget`, `data/digits_series_multitarget/`)
draws the same kind of studies with two targets per study (`competition.task: multitarget`):

    train.csv             id,patient_id,finding,bucket
                          finding: 0/1 as above; bucket: none (no finding), low (its digit
                          is 0-4) or high (5-9); about 10% of bucket cells left empty (missing
                          labels, as RSNA 2024 has)
    sample_submission.csv id,finding,bucket_none,bucket_low,bucket_high  (probabilities)
    solution.csv          id,finding,bucket,Usage  (every label present)

`studies=True` (`podium demo-data --task series_studies`, `data/digits_series_studies/`) writes
the series demo's tables with each study a folder of series (RSNA 2023's layout, read with
`data.slices.series: all`):

    train_images/<id>/<series_id>/*.dcm   one or two series per study (about half have two)

A study's series are drawn alike (two phases of one scan): each has the study's finding
(its own digit, span and distractors) when the study is labelled 1.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from podium.artifacts import atomic_folder
from podium.series.dicom_writer import new_series_ids, write_slice

SEED = 2026
N_TRAIN, N_TEST = 300, 100
SLICES = (16, 48)
SIZES = (32, 48)
FINDING_SHARE = 0.4
NOISE_HU, FINDING_HU = 28.0, 45.0
FILES = ("train.csv", "test.csv", "sample_submission.csv", "solution.csv")
_FONTS = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX)


def _digit_layer(rng: np.random.Generator, size: int) -> tuple[np.ndarray, int]:
    """A (size, size) float {0, 1} layer holding one digit's strokes at a random place, and
    the digit."""
    layer = np.zeros((size, size), np.uint8)
    font = _FONTS[int(rng.integers(len(_FONTS)))]
    scale, thickness = rng.uniform(0.8, 1.2) * size / 40, int(rng.integers(2, 4))
    digit = int(rng.integers(10))
    text = str(digit)
    (w, h), _ = cv2.getTextSize(text, font, scale, thickness)
    x = int(rng.integers(1, max(2, size - w - 1)))
    y = int(rng.integers(h + 1, max(h + 2, size - 1)))
    cv2.putText(layer, text, (x, y), font, scale, 1, thickness, cv2.LINE_AA)
    return layer.astype(np.float32), digit


def _ring_layer(rng: np.random.Generator, size: int) -> np.ndarray:
    layer = np.zeros((size, size), np.float32)
    x, y = (int(v) for v in rng.integers(size // 4, 3 * size // 4, 2))
    cv2.circle(layer, (x, y), int(rng.integers(size // 8, size // 4)), 1.0, 2)
    return layer


def _span(rng: np.random.Generator, n: int, lo: int, hi: int) -> slice:
    length = int(rng.integers(lo, hi + 1))
    start = int(rng.integers(0, n - length + 1))
    return slice(start, start + length)


def make_study(rng: np.random.Generator, finding: bool) -> tuple[np.ndarray, int | None]:
    """One study's volume (S, H, W) in HU (see the module docstring) and its finding's digit
    (None without a finding)."""
    n, size = int(rng.integers(SLICES[0], SLICES[1] + 1)), int(rng.integers(SIZES[0], SIZES[1] + 1))
    coarse = rng.normal(0, 1, (max(2, n // 4), 4, 4)).astype(np.float32)
    smooth = cv2.resize(
        coarse.reshape(coarse.shape[0], 16), (16, n), interpolation=cv2.INTER_LINEAR
    )
    smooth = np.stack(
        [cv2.resize(s.reshape(4, 4), (size, size), interpolation=cv2.INTER_CUBIC) for s in smooth]
    )
    hu: np.ndarray = 40 + 25 * smooth + rng.normal(0, NOISE_HU, (n, size, size)).astype(np.float32)
    ring, span = _ring_layer(rng, size), _span(rng, n, 3, 8)
    hu[span] += np.float32(FINDING_HU) * ring
    for _ in range(int(rng.integers(1, 3))):
        hu[int(rng.integers(n))] += FINDING_HU * _digit_layer(rng, size)[0]
    digit = None
    if finding:
        layer, digit = _digit_layer(rng, size)
        hu[_span(rng, n, 4, 7)] += FINDING_HU * layer
    return hu, digit


def _tilted_axes(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row and column direction cosines of a slightly tilted plane, and its normal."""
    a, b = rng.uniform(-0.3, 0.3, 2)
    rot = cv2.Rodrigues(np.array([a, b, 0.0]))[0]
    row, col = rot @ np.array([1.0, 0, 0]), rot @ np.array([0, 1.0, 0])
    return row, col, np.cross(row, col)


def write_study(folder: Path, hu: np.ndarray, patient: str, rng: np.random.Generator) -> None:
    """`hu` (S, H, W) as one DICOM series in `folder`, files named at random."""
    folder.mkdir(parents=True)
    ids = new_series_ids(patient, rng)
    row, col, normal = _tilted_axes(rng)
    origin, step = rng.uniform(-200, 200, 3), float(rng.choice([1.25, 2.5, 3.0]))
    along = bool(rng.random() < 0.5)  # InstanceNumber runs along the normal, or against it
    n = len(hu)
    for s in range(n):
        name = f"{int(rng.integers(0, 2**63)):016x}.dcm"
        write_slice(
            folder / name,
            hu[s],
            ids,
            instance=s + 1 if along else n - s,
            position=tuple(float(v) for v in origin + s * step * normal),  # type: ignore[arg-type]
            orientation=(*row, *col),
            thickness=step,
        )


MISSING_BUCKET = 0.1  # share of the multitarget demo's train bucket labels left empty


def bucket_of(digit: int | None) -> str:
    """The multitarget demo's 3-class target: none, low (0-4) or high (5-9)."""
    return "none" if digit is None else ("low" if digit < 5 else "high")


TWO_SERIES_SHARE = 0.5  # share of the studies demo's studies with two series


def write_series_demo(
    out: Path,
    n_train: int = N_TRAIN,
    n_test: int = N_TEST,
    multitarget: bool = False,
    studies: bool = False,
) -> Path:
    """The demo under `out` (see the module docstring; `multitarget`: two targets per study;
    `studies`: a folder of one or two series per study); idempotent (a complete folder is
    left alone) and atomic (built in a temporary folder, then renamed). Tests draw a smaller
    one."""
    if all((out / f).is_file() for f in FILES):
        return out
    rng = np.random.default_rng(SEED)
    with atomic_folder(out) as tmp:
        tables = {}
        for split, n in (("train", n_train), ("test", n_test)):
            patients = [f"{split}_p{i // 2 if i % 3 == 0 else i:04d}" for i in range(n)]
            labels = (rng.random(n) < FINDING_SHARE).astype(int)
            ids = [f"{split}_{i:04d}" for i in range(n)]
            buckets = []
            for study, patient, label in zip(ids, patients, labels, strict=True):
                hu, digit = make_study(rng, bool(label))
                buckets.append(bucket_of(digit))
                if studies:
                    folder = tmp / f"{split}_images" / study
                    _write_series_of_study(folder, hu, bool(label), patient, rng)
                else:
                    write_study(tmp / f"{split}_images" / study, hu, patient, rng)
            tables[split] = pd.DataFrame({"id": ids, "patient_id": patients, "label": labels})
            if multitarget:
                tables[split] = tables[split].rename(columns={"label": "finding"})
                tables[split]["bucket"] = buckets
        if multitarget:
            _write_multitarget_tables(tmp, tables["train"], tables["test"])
            return out
        tables["train"].to_csv(tmp / "train.csv", index=False)
        test = tables["test"]
        test[["id", "patient_id"]].to_csv(tmp / "test.csv", index=False)
        test[["id"]].assign(label=0.5).to_csv(tmp / "sample_submission.csv", index=False)
        usage = np.where(
            np.random.default_rng(SEED + 1).random(len(test)) < 0.5, "Public", "Private"
        )
        test[["id", "label"]].assign(Usage=usage).to_csv(tmp / "solution.csv", index=False)
    return out


def _write_series_of_study(
    folder: Path, hu: np.ndarray, finding: bool, patient: str, rng: np.random.Generator
) -> None:
    """A study folder of one or two series sub-folders (random numeric series ids, as
    RSNA's), the second drawn with the first's label."""
    series = [hu]
    if rng.random() < TWO_SERIES_SHARE:
        series.append(make_study(rng, finding)[0])
    for volume in series:
        write_study(folder / f"{int(rng.integers(10**4, 10**6))}", volume, patient, rng)


def _write_multitarget_tables(tmp: Path, train: pd.DataFrame, test: pd.DataFrame) -> None:
    """The multitarget demo's tables (see the module docstring)."""
    gone = np.random.default_rng(SEED + 2).random(len(train)) < MISSING_BUCKET
    train.assign(bucket=train["bucket"].where(~gone, "")).to_csv(tmp / "train.csv", index=False)
    test[["id", "patient_id"]].to_csv(tmp / "test.csv", index=False)
    sample = test[["id"]].assign(finding=0.5, bucket_none=0.4, bucket_low=0.3, bucket_high=0.3)
    sample.to_csv(tmp / "sample_submission.csv", index=False)
    usage = np.where(np.random.default_rng(SEED + 1).random(len(test)) < 0.5, "Public", "Private")
    test[["id", "finding", "bucket"]].assign(Usage=usage).to_csv(tmp / "solution.csv", index=False)
