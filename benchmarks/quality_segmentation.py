"""Do segmentation runs beat a classical reference on the same folds and the hidden test set?

The reference: each image's Otsu threshold of its grey levels (OpenCV), then the same
minimum-area rule as the run's post-processing (`MaskThreshold`, fitted on the other folds'
rows for the CV, on every train row for the test set). It finds every bright shape, the
distractors too, so a model has to learn the digits' strokes to beat it.

    make demo DEMO=digits_segmentation          # the members, their ensemble, its submission
    python benchmarks/quality_segmentation.py    # the README's table: unet, fpn, the ensemble
    python benchmarks/quality_segmentation.py -c configs/digits_segmentation/unet.yaml [key=value ...]

For each run (`-c`, repeatable; default the demo's two members and their ensemble) it writes
the run's submission where it is not current (`podium submit`: fresh work is skipped) and
prints its honest CV, in-sample CV and hidden-test mean Dice (Public and Private halves),
then the reference's on the same folds. Paired bootstraps over the test images (per-image
Dice differences, 2,000 resamples, 95%): each run minus the reference, and the last run minus the
earlier run with the best CV (the demo's ensemble vs its best member; `-c unet.yaml -c
pseudo.yaml`: the student vs its teacher). Exits 1 unless every run
beats the reference beyond noise (the interval above 0).
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
from podium.stages import submit
from podium.submission import read_submission
from podium.tasks.decisions.mask_area import MaskThreshold

DEMO_RUNS = ("unet", "fpn", "ensemble")  # configs/digits_segmentation/<name>.yaml


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
    parser.add_argument("-c", "--config", action="append", help="a run's config (repeatable)")
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args(argv)
    configs = args.config or [f"configs/digits_segmentation/{n}.yaml" for n in DEMO_RUNS]
    cfgs = [load_config(Path(c), args.overrides) for c in configs]
    cfg = cfgs[0]
    comp = Competition.from_config(cfg)
    decision = MaskThreshold(SEGMENTATION["dice"])
    folds = pd.read_csv(cfg.folds_path)["fold"].to_numpy()

    # the reference at the runs' scoring size (the OOF maps' size) for the CV
    y_small = resize_masks(comp.targets, cfg.data.image_size).astype(bool)
    ref_small = resize_masks(otsu_masks(comp, "train"), cfg.data.image_size).astype(np.float32)
    ref_fit = decision.fit_cv(y_small, ref_small, folds)
    # the hidden test set at the images' own size
    y_test, truth = comp.solution_targets(comp.test_ids)
    ref_test_maps = otsu_masks(comp, "test").astype(np.float32)
    threshold, min_area = ref_fit.summary.params  # min_area at data.image_size: scaled up
    h, w = cfg.data.image_size
    scale = ref_test_maps.shape[2] * ref_test_maps.shape[3] / (h * w)
    ref_test = decision.apply(ref_test_maps, np.array([threshold, min_area * scale]))
    ref_dice = image_dice(y_test, ref_test)
    public = (truth["Usage"] == "Public").to_numpy()

    def row(name: str, cv: float, in_sample: float, dice: np.ndarray) -> str:
        values = (cv, in_sample, dice.mean(), dice[public].mean(), dice[~public].mean())
        return f"| {name} | " + " | ".join(f"{v:.4f}" for v in values) + " |"

    runs: list[tuple[str, float, np.ndarray]] = []  # name, CV, per-image test Dice
    lines = []
    for run_cfg in cfgs:
        scores = json.loads((run_cfg.run_dir / "scores.json").read_text())
        sub = read_submission(submit.run(run_cfg))  # the run's current submission
        test = comp.task.submission.predictions(sub, [cfg.competition.target_column])
        dice = image_dice(y_test, test)
        name = f"{run_cfg.name} ({scores['chosen']})" if "chosen" in scores else run_cfg.name
        runs.append((run_cfg.name, scores["cv"], dice))
        lines.append(row(name, scores["cv"], scores["in_sample"], dice))
    summary = ref_fit.summary
    lines.append(row("Otsu + min area", summary.cv_score, summary.fit_score, ref_dice))
    print("| run | CV Dice (honest) | in-sample | hidden test Dice | public | private |")
    print("| --- | --- | --- | --- | --- | --- |")
    print("\n".join(lines))
    print(f"\nreference at 0.5 on OOF: {mean_dice(y_small, ref_small >= 0.5):.4f}")
    beaten = True
    for name, _, dice in runs:
        low, high = bootstrap(dice - ref_dice)
        beaten &= low > 0
        print(f"{name} - reference, hidden test: {paired(dice, ref_dice)}")
    if len(runs) > 1:
        (last, _, last_dice), before = runs[-1], runs[:-1]
        best, _, best_dice = max(before, key=lambda r: r[1])
        print(f"{last} - {best} (best CV before it), hidden test: {paired(last_dice, best_dice)}")
    return 0 if beaten else 1


def paired(dice: np.ndarray, other: np.ndarray) -> str:
    low, high = bootstrap(dice - other)
    verdict = "beyond noise" if low > 0 or high < 0 else "within noise"
    diff = dice.mean() - other.mean()
    return f"{diff:+.4f} Dice (paired bootstrap 95%: {low:+.4f} to {high:+.4f}, {verdict})"


if __name__ == "__main__":
    sys.exit(main())
