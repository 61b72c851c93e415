"""Does a segmentation run beat a classical reference on the same folds and the hidden test set?

The reference: each image's Otsu threshold of its grey levels (OpenCV), then the same
minimum-area rule as the run's post-processing (`MaskThreshold`, fitted on the other folds'
rows for the CV, on every train row for the test set). It finds every bright shape, the
distractors too, so a model has to learn the digits' strokes to beat it.

    podium score -c configs/digits_segmentation/unet.yaml
    python benchmarks/quality_segmentation.py -c configs/digits_segmentation/unet.yaml [key=value ...]

Prints the CV and hidden-test mean Dice of the run and the reference, with a paired
bootstrap (per-image Dice differences on the test images, 2,000 resamples) of the run minus
the reference; exits 1 unless the run beats the reference beyond noise (the interval above 0).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from podium.competition import Competition
from podium.config import load_config
from podium.mask_data import resize_masks
from podium.metrics.segmentation import SEGMENTATION, image_dice, mean_dice
from podium.submission import read_submission
from podium.tasks.decisions.mask_area import MaskThreshold


def otsu_masks(comp: Competition, split: str) -> np.ndarray:
    """(N, 1, H, W) bool: each image's pixels above its own Otsu threshold of grey levels."""
    out = []
    for path in comp.image_paths(split):
        grey = cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2GRAY)
        _, mask = cv2.threshold(grey, 0, 1, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        out.append(mask.astype(bool)[None])
    return np.stack(out)


def bootstrap(diff: np.ndarray, n: int = 2000, seed: int = 0) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, len(diff), (n, len(diff)))].mean(axis=1)
    return float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-c", "--config", default="configs/digits_segmentation/unet.yaml")
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args(argv)
    cfg = load_config(Path(args.config), args.overrides)
    comp = Competition.from_config(cfg)
    decision = MaskThreshold(SEGMENTATION["dice"])
    folds = pd.read_csv(cfg.folds_path)["fold"].to_numpy()
    run = json.loads((cfg.run_dir / "scores.json").read_text())

    # the reference at the run's scoring size (the OOF maps' size) for the CV
    y_small = resize_masks(comp.targets, cfg.data.image_size).astype(bool)
    ref_small = resize_masks(otsu_masks(comp, "train"), cfg.data.image_size).astype(np.float32)
    ref_fit = decision.fit_cv(y_small, ref_small, folds)
    # the hidden test set at the images' own size
    ids = comp.test_ids
    y_test, truth = comp.solution_targets(ids)
    ref_test_maps = otsu_masks(comp, "test").astype(np.float32)
    threshold, min_area = ref_fit.summary.params  # min_area at data.image_size: scaled up
    h, w = cfg.data.image_size
    scale = ref_test_maps.shape[2] * ref_test_maps.shape[3] / (h * w)
    ref_test = decision.apply(ref_test_maps, np.array([threshold, min_area * scale]))
    subs = sorted(
        Path(cfg.paths.submissions).glob(f"{comp.cfg.name}-{cfg.name}-cv*.csv"),
        key=lambda p: p.stat().st_mtime,
    )
    if not subs:
        print(f"no submission of {cfg.name}: run `podium score -c {args.config}` first")
        return 1
    sub = read_submission(subs[-1])
    model_test = comp.task.submission.predictions(sub, [cfg.competition.target_column])
    model_dice = image_dice(y_test, model_test)
    ref_dice = image_dice(y_test, ref_test)
    low, high = bootstrap(model_dice - ref_dice)
    public = (truth["Usage"] == "Public").to_numpy()
    rows = [
        (
            cfg.name,
            run["cv"],
            run["in_sample"],
            model_dice.mean(),
            model_dice[public].mean(),
            model_dice[~public].mean(),
        ),
        (
            "Otsu + min area",
            ref_fit.summary.cv_score,
            ref_fit.summary.fit_score,
            ref_dice.mean(),
            ref_dice[public].mean(),
            ref_dice[~public].mean(),
        ),
    ]
    print("| candidate | CV Dice (honest) | in-sample | test Dice | public | private |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, *values in rows:
        print(f"| {name} | " + " | ".join(f"{v:.4f}" for v in values) + " |")
    diff = model_dice.mean() - ref_dice.mean()
    print(
        f"\n{cfg.name} - reference on the hidden test set: {diff:+.4f} Dice "
        f"(paired bootstrap 95%: {low:+.4f} to {high:+.4f}); reference at 0.5 on OOF: "
        f"{mean_dice(y_small, ref_small >= 0.5):.4f}"
    )
    return 0 if low > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
