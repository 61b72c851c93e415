"""`podium demo-data`: the embedded demo competition, built from scikit-learn's bundled
handwritten digits (real data, no network) in Kaggle's layout:

    data/digits/train.csv             id,label            (1,437 rows)
    data/digits/train/<id>.png        32x32 RGB, upscaled from 8x8
    data/digits/test/<id>.png         (360 images)
    data/digits/sample_submission.csv id,label            (label = a placeholder)
    data/digits/solution.csv          id,label,Usage      (hidden labels; Public/Private halves)

`--task regression` writes `data/digits_regression/` from the same images and split, with a
numeric target instead of the label:

    train.csv             id,value        value = the digit + Gaussian noise (sd 0.3), 2 decimals
    sample_submission.csv id,value        (value = a placeholder, 0.0)
    solution.csv          id,value,Usage

Learnable from the pixels (it is the digit, up to the noise), with an RMSE floor of about 0.3
and an RMSE of about 2.9 for predicting the mean.

`--task multilabel` writes `data/digits_multilabel/`, same images and split, Planet's layout
(one column of space-separated tags, `multilabel_tags`):

    train.csv             id,tags     e.g. 'even big loop', '' (no tag: a thin 1)
    sample_submission.csv id,tags     (tags = a placeholder, 'even')
    solution.csv          id,tags,Usage

Tags: `even`, `prime`, `big` (> 4), `loop` (0, 6, 8, 9) follow from the digit; `bold` (more
ink than the median image of its digit) from the pixels, with 10% of its values flipped, so
no model saturates it.

`--task metadata` writes `data/digits_metadata/`: the same images with tabular metadata that
carries signal the pixels do not (`competition.metadata`, podium.data.metadata):

    train.csv             id,age,site,label   label = 1 if digit + (age - 20) / 10 + bonus(site) >= 9
    test.csv              id,age,site         (age empty in ~5% of rows: missing values)
    sample_submission.csv id,label
    solution.csv          id,label,Usage

site is categorical (a, b, c, d: bonus 0..3). Neither the image nor the metadata alone decides
the label (the best use of the digit alone gives an AUC of about 0.92, of the metadata
alone about 0.75); both together decide it.
`--task ordinal` writes `data/digits_ordinal/` (APTOS-like grades 0-4), column `grade`:

    grade = clip(round(digit * 4/9 + noise), 0, 4), noise ~ N(0, 0.3)

i.e. digit // 2 up to the noise, which moves about a fifth of the rows one grade (mostly the
odd digits, which sit between two grades). The best possible predictor (the most likely grade
of each digit) scores QWK about 0.94 (accuracy 0.78), so the demo is not saturated at 1.0.

`--task hard` writes `data/digits_hard/`: the same labels as `digits/`, half of them held
out (898 train / 899 hidden), the images rotated, cluttered with a fragment of another digit,
partly occluded, coloured and noisy (`podium.hard_digits`), so that no member saturates and
the ensemble has work to do; its hidden test renders each held-out digit twice (1,798
images, ids `img_0042_r0`, `_r1`), so a one-point gain can be told from noise.

`--task segmentation` writes `data/digits_segmentation/`: 64x64 digit strokes on textured
backgrounds with distractor shapes, masks as run-length cells (`podium.segmentation.demo`
draws it; its docstring gives the layout).

`--task series` writes `data/digits_series/`: studies of 16-48 noisy CT-like slices as real
DICOM series (one folder per study), a binary study-level label (a digit that persists over
several slices); `podium.series.demo` draws it and its docstring gives the layout.

`--task multitarget` writes `data/digits_multitarget/` (`competition.task: multitarget`), the
same images with two targets per image:

    train.csv             id,parity,mod3      parity: even / odd; mod3: the digit mod 3 (0, 1,
                                              2), about 10% of its cells empty (missing labels)
    sample_submission.csv id,parity_even,parity_odd,mod3_0,mod3_1,mod3_2   (probabilities)
    solution.csv          id,parity,mod3,Usage

`--task series_multitarget` writes `data/digits_series_multitarget/`: the series demo with
two targets per study (a finding, 0/1, and its digit's bucket: none, low or high; see
`podium.series.demo`).

`--task series_studies` writes `data/digits_series_studies/`: the series demo's tables with
each study a folder of one or two series (RSNA 2023's `<study>/<series>/*.dcm`, read with
`data.slices.series: all`; see `podium.series.demo`).

`--task volumes` writes `data/digits_volumes/`: small CT-like NIfTI volumes at varying voxel
spacings, a binary label (a ball beside a rod that every volume has); `podium.volumes.demo`
draws it and its docstring gives the layout.

Stratified 80/20 split with a fixed seed; writing is idempotent (a complete folder is left
alone) and atomic (built in a temp folder, then renamed).
"""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from podium.artifacts import atomic_folder
from podium.hard_digits import TEST_FRACTION, TEST_RENDERINGS, hard_digits
from podium.segmentation.demo import write_segmentation_demo
from podium.series.demo import write_series_demo
from podium.volumes.demo import write_volumes_demo

_log = logging.getLogger(__name__)

SIZE = 32
SEED = 2026
FILES = ("train.csv", "sample_submission.csv", "solution.csv")


def digit_to_rgb(pixels: np.ndarray, size: int = SIZE) -> np.ndarray:
    """8x8 intensities 0..16 -> (size, size, 3) uint8, bicubic upscale (ink is bright)."""
    img = (pixels.reshape(8, 8) * (255.0 / 16.0)).astype(np.float32)
    big = cv2.resize(img, (size, size), interpolation=cv2.INTER_CUBIC)
    return np.repeat(np.clip(big, 0, 255).astype(np.uint8)[..., None], 3, axis=2)


REGRESSION_NOISE = 0.3  # sd of the noise added to the digit in the regression demo
SITE_BONUS = {"a": 0, "b": 1, "c": 2, "d": 3}  # the metadata demo's categorical column


def metadata_columns(digit: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The metadata demo's columns (age as written: ~5% empty; site) and its binary label,
    which needs the digit and the metadata together."""
    rng = np.random.default_rng(SEED + 2)
    age = rng.integers(20, 81, len(digit))
    site = rng.choice(list(SITE_BONUS), len(digit))
    score = digit + (age - 20) / 10 + np.array([SITE_BONUS[s] for s in site])
    written = np.where(rng.random(len(digit)) < 0.05, "", age.astype(str))
    return {"age": written, "site": site}, (score >= 9).astype(int).astype(str)


BOLD_FLIPS = 0.1  # share of the multilabel demo's `bold` tags flipped
DEMO_FOLDERS = {
    "multiclass": "digits",
    "regression": "digits_regression",
    "multilabel": "digits_multilabel",
    "metadata": "digits_metadata",
    "ordinal": "digits_ordinal",
    "hard": "digits_hard",
    "segmentation": "digits_segmentation",
    "series": "digits_series",
    "multitarget": "digits_multitarget",
    "series_multitarget": "digits_series_multitarget",
    "series_studies": "digits_series_studies",
    "volumes": "digits_volumes",
}
MISSING_MOD3 = 0.1  # share of the multitarget demo's train mod3 labels left empty


def multitarget_columns(digit: np.ndarray) -> dict[str, np.ndarray]:
    """The multitarget demo's two target columns, as written (see the module docstring)."""
    gone = np.random.default_rng(SEED + 3).random(len(digit)) < MISSING_MOD3
    parity = np.where(digit % 2 == 0, "even", "odd").astype(object)
    return {"parity": parity, "mod3": np.where(gone, "", (digit % 3).astype(str)).astype(object)}


def multilabel_tags(digit: np.ndarray, pixels: np.ndarray, seed: int = SEED) -> np.ndarray:
    """Each image's tags (see the module docstring), space-separated, '' for none."""
    ink = pixels.sum(axis=1)
    median = {d: np.median(ink[digit == d]) for d in np.unique(digit)}
    bold = ink > np.array([median[d] for d in digit])
    bold ^= np.random.default_rng(seed + 2).random(len(digit)) < BOLD_FLIPS
    tags = {
        "even": digit % 2 == 0,
        "prime": np.isin(digit, [2, 3, 5, 7]),
        "big": digit > 4,
        "loop": np.isin(digit, [0, 6, 8, 9]),
        "bold": bold,
    }
    names = np.array(list(tags), dtype=object)
    on = np.stack(list(tags.values()), axis=1)
    return np.array([" ".join(names[row]) for row in on], dtype=object)


def regression_values(digit: np.ndarray) -> np.ndarray:
    """The regression demo's values, as written (2 decimals): the digit + N(0, 0.3)."""
    noise = np.random.default_rng(SEED + 1).normal(0.0, REGRESSION_NOISE, len(digit))
    return np.char.mod("%.2f", digit + noise)


ORDINAL_NOISE = 0.3  # sd of the noise added to digit * 4/9 before rounding to a grade


def ordinal_grades(digit: np.ndarray) -> np.ndarray:
    """Grades 0-4 of the ordinal demo, as strings (see the module docstring)."""
    noise = np.random.default_rng(SEED + 2).normal(0.0, ORDINAL_NOISE, len(digit))
    return np.clip(np.rint(digit * 4 / 9 + noise), 0, 4).astype(int).astype(str)


def write_demo(root: Path, task: str = "multiclass") -> Path:
    """The demo competition under `root`: `digits/` (multiclass), `digits_hard/`,
    `digits_regression/`, `digits_multilabel/`, `digits_ordinal/`, `digits_metadata/`,
    `digits_segmentation/`, `digits_series/` or `digits_volumes/`."""
    if task not in DEMO_FOLDERS:
        raise ValueError(f"unknown demo task {task!r}")
    regression = task == "regression"
    out = Path(root) / DEMO_FOLDERS[task]
    if task == "segmentation":
        write_segmentation_demo(out)
        _log.info("segmentation demo competition in %s", out)
        return out
    if task in ("series", "series_multitarget", "series_studies"):
        multitarget, studies = task == "series_multitarget", task == "series_studies"
        write_series_demo(out, multitarget=multitarget, studies=studies)
        _log.info("series demo competition in %s", out)
        return out
    if task == "volumes":
        write_volumes_demo(out)
        _log.info("volumes demo competition in %s", out)
        return out
    if all((out / f).is_file() for f in FILES):
        _log.info("demo data already present: %s", out)
        return out
    digits = load_digits()
    ids = np.array([f"img_{i:04d}" for i in range(len(digits.target))])
    labels = digits.target.astype(str)
    held_out = TEST_FRACTION if task == "hard" else 0.2
    tr, te = train_test_split(
        np.arange(len(ids)), test_size=held_out, stratify=labels, random_state=SEED
    )
    tr, te = np.sort(tr), np.sort(te)
    column, placeholder = "label", "0"
    if regression:
        labels, column, placeholder = regression_values(digits.target), "value", "0.0"
    if task == "multilabel":
        labels = multilabel_tags(digits.target, digits.data)
        column, placeholder = "tags", "even"
    if task == "ordinal":
        labels, column = ordinal_grades(digits.target), "grade"
    with atomic_folder(out) as tmp:
        images = (
            hard_digits(digits.data)
            if task == "hard"
            else [digit_to_rgb(pixels) for pixels in digits.data]
        )
        test_images = {ids[i]: images[i] for i in te}
        if task == "hard":  # several renderings of each held-out digit (podium.hard_digits)
            test_images = {}
            for k in range(TEST_RENDERINGS):
                rendered = hard_digits(digits.data, k)
                test_images.update({f"{ids[i]}_r{k}": rendered[i] for i in te})
            te = np.tile(te, TEST_RENDERINGS)
        test_ids = np.array(list(test_images))
        (tmp / "train").mkdir()
        for i in tr:
            cv2.imwrite(str(tmp / "train" / f"{ids[i]}.png"), images[i][..., ::-1])
        (tmp / "test").mkdir()
        for name, image in test_images.items():
            cv2.imwrite(str(tmp / "test" / f"{name}.png"), image[..., ::-1])
        meta = None
        if task == "metadata":
            meta, labels = metadata_columns(digits.target)
            pd.DataFrame({"id": test_ids, **{k: v[te] for k, v in meta.items()}}).to_csv(
                tmp / "test.csv", index=False
            )
        extra = {k: v[tr] for k, v in meta.items()} if meta else {}
        if task == "multitarget":
            _write_multitarget_tables(tmp, ids, digits.target, tr, te)
            return out
        pd.DataFrame({"id": ids[tr], **extra, column: labels[tr]}).to_csv(
            tmp / "train.csv", index=False
        )
        pd.DataFrame({"id": test_ids, column: placeholder}).to_csv(
            tmp / "sample_submission.csv", index=False
        )
        usage = np.where(
            np.random.default_rng(SEED).random(len(test_ids)) < 0.5, "Public", "Private"
        )
        pd.DataFrame({"id": test_ids, column: labels[te], "Usage": usage}).to_csv(
            tmp / "solution.csv", index=False
        )
    _log.info("wrote demo competition to %s: %d train, %d test images", out, len(tr), len(test_ids))
    return out


def _write_multitarget_tables(
    tmp: Path, ids: np.ndarray, digit: np.ndarray, tr: np.ndarray, te: np.ndarray
) -> None:
    """The multitarget demo's tables: train (some mod3 cells empty), sample, solution."""
    columns = multitarget_columns(digit)
    pd.DataFrame({"id": ids[tr], **{k: v[tr] for k, v in columns.items()}}).to_csv(
        tmp / "train.csv", index=False
    )
    probs = {"parity_even": 0.5, "parity_odd": 0.5, "mod3_0": 0.4, "mod3_1": 0.3, "mod3_2": 0.3}
    pd.DataFrame({"id": ids[te], **probs}).to_csv(tmp / "sample_submission.csv", index=False)
    full = {"parity": columns["parity"][te], "mod3": (digit[te] % 3).astype(str)}
    usage = np.where(np.random.default_rng(SEED).random(len(te)) < 0.5, "Public", "Private")
    pd.DataFrame({"id": ids[te], **full, "Usage": usage}).to_csv(tmp / "solution.csv", index=False)
