"""notebooks/oof_segmentation.ipynb runs top to bottom on tiny segmentation runs made here
(40 images of 32 px, 2 folds, 1 epoch; one class from run-lengths, and two classes from index
mask files), and the figures it computes from the stored maps and decision are podium's own:
the honest CV, per fold, in-sample and at threshold 0.5 are scores.json's, the false
positives on empty masks those of the decision refitted here."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import nbformat
import numpy as np
import pandas as pd
import pytest

from factories import tiny_mask_overrides
from podium.config import load_config
from podium.experiment import Experiment
from podium.mask_store import OOF_MAPS, read_maps
from podium.mask_units import small_targets
from podium.metrics.segmentation import image_dice
from podium.pipeline import Request, run
from podium.segmentation.demo import write_segmentation_demo
from podium.segmentation.rle import decode
from test_notebooks import NOTEBOOKS, execute, images_shown, text_of

ROOT = Path(__file__).resolve().parents[1]
UNET = ROOT / "configs/digits_segmentation/unet.yaml"
SIZE = 32

# the notebook's own variables, written out after its last cell
DUMP = """
import json
json.dump(
    {
        "cv": float(honest_cv),
        "folds": {str(k): float(v) for k, v in per_fold[f"{scores['metric']} (honest)"].items()},
        "dice_by_fold": {str(k): float(v) for k, v in per_fold["dice here"].items()},
        "in_sample": in_sample,
        "at_half": at_half,
        "fp_rate_empty": fp_rate_empty,
        "empty_bin": float(by_area.loc["empty", "mean_dice"]),
        "worst": [str(ids[i]) for i in worst],
        "worst_dice": float(image_dice[worst[0]]),
        "classes": classes,
    },
    open("notebook_values.json", "w"),
)
"""


def two_classes(root: Path) -> list[str]:
    """The demo's digits split into a left and a right class, as index mask files."""
    train = pd.read_csv(root / "train.csv", dtype=str, keep_default_na=False)
    (root / "masks").mkdir()
    for image_id, cell in zip(train["id"], train["rle"], strict=True):
        digit = decode(cell, (SIZE, SIZE))
        left = digit.copy()
        left[:, SIZE // 2 :] = False
        index = left + 2 * (digit & ~left)
        cv2.imwrite(str(root / "masks" / f"{image_id}.png"), index.astype(np.uint8))
    train[["id"]].to_csv(root / "train.csv", index=False)
    sample = pd.read_csv(root / "sample_submission.csv", dtype=str, keep_default_na=False)
    sample[["id"]].assign(left="", right="").to_csv(root / "sample_submission.csv", index=False)
    return [
        "competition.classes=[left,right]",
        "competition.train_masks=masks/{id}.png",
        "competition.mask_layout=index",
    ]


def test_notebook_is_committed_without_outputs():
    nb = nbformat.read(NOTEBOOKS / "oof_segmentation.ipynb", as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)


@pytest.mark.parametrize("n_classes", [1, 2])
def test_oof_segmentation_runs_and_agrees_with_scores(tmp_path, monkeypatch, n_classes):
    root = tmp_path / "data/digits_segmentation"
    write_segmentation_demo(root, size=SIZE, n_train=40, n_test=8)
    overrides = [
        *tiny_mask_overrides(tmp_path, SIZE),
        "infer.tta=[identity]",
        *(two_classes(root) if n_classes == 2 else []),
    ]
    run("oof", Request(config=UNET, overrides=overrides))
    cfg = load_config(UNET, overrides)
    monkeypatch.setenv("PODIUM_RUN_DIR", str(cfg.run_dir))
    monkeypatch.setenv("PODIUM_WORST", "4")
    nb = execute("oof_segmentation.ipynb", tmp_path, then=DUMP)
    out = text_of(nb)
    assert "post-processing for the submission" in out and "false positives on the" in out
    assert images_shown(nb) >= 4 + (n_classes > 1)  # worst, by area, curves, honest; per class
    got = json.loads((tmp_path / "notebook_values.json").read_text())
    scores = json.loads((cfg.run_dir / "scores.json").read_text())
    assert got["classes"] == (["left", "right"] if n_classes == 2 else ["rle"])
    assert got["cv"] == pytest.approx(scores["cv"], abs=1e-12)
    assert got["folds"] == pytest.approx(scores["folds"], abs=1e-12)
    assert got["dice_by_fold"] == pytest.approx(scores["folds"], abs=1e-12)
    assert got["in_sample"] == pytest.approx(scores["in_sample"], abs=1e-12)
    assert got["at_half"] == pytest.approx(scores["at_threshold_0.5"], abs=1e-12)
    # the empty masks' false positives and the worst image, from the decision refitted here
    exp = Experiment(cfg)
    y = small_targets(exp).astype(bool)
    ids = [str(i) for i in exp.comp.train_ids]
    prob = read_maps(cfg.run_dir / OOF_MAPS, ids, exp.fold_of_row)
    decided = exp.task.decision.fit_cv(y, prob, exp.fold_of_row).decided_oof
    empty = ~y.any(axis=(2, 3))  # (N, C) pairs with an empty true mask
    assert empty.any()
    false_positive = decided.any(axis=(2, 3))[empty]
    assert got["fp_rate_empty"] == pytest.approx(false_positive.mean())
    assert got["empty_bin"] == pytest.approx(1 - false_positive.mean())
    per_image = image_dice(y, decided)
    assert got["worst_dice"] == pytest.approx(per_image.min())
    assert per_image[ids.index(got["worst"][0])] == pytest.approx(per_image.min())
