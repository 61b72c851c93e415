"""Does fold k's student see fold k's labels through its teacher? A direct measurement.

A pseudo-label student's fold k trains on the teacher's fold-k predictions of the test pool.
The teacher's fold-k model never trained on fold k's rows, but its `best.pt` is the epoch that
scored best on them. So: permute the labels of fold 0's rows (nothing else changes: same
folds, same training rows for fold 0's models, same seeds), redo teacher and student, and
count the student's fold-0 predictions (on fold 0's own images, with the student's `last.pt`,
so its own choice of epoch plays no part) that change. A leak-free chain changes none; any
change is fold 0's labels reaching fold 0's student.

    python benchmarks/teacher_leak.py                 # resnet10t, 600 rows, 2 folds, 8 epochs
    python benchmarks/teacher_leak.py --repeats 2     # the README's figures (about 9 min, CPU)

Compares the student taught with the default teacher weights (`last`: fixed schedule) and
with `pseudo.teacher_checkpoint: best` (the leak accepted). CPU is enough (a few minutes).
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import yaml  # noqa: E402

from podium import pipeline  # noqa: E402
from podium.config import load_config  # noqa: E402
from podium.experiment import Experiment  # noqa: E402
from podium.logs import setup_logging  # noqa: E402
from podium.stages.demo_data import write_demo  # noqa: E402
from podium.units.predict import UnitPredictor  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MODES = {"last (default)": None, "best (accepted leak)": "best"}


def write_competition(demo: Path, dst: Path, n_train: int, labels: pd.Series | None) -> Path:
    """The first `n_train` demo rows (and every test image) under dst/digits, with `labels`
    in place of train.csv's where given; returns dst (a paths.data)."""
    src, out = demo / "digits", dst / "digits"
    out.mkdir(parents=True)
    train = pd.read_csv(src / "train.csv", dtype=str).head(n_train)
    if labels is not None:
        train["label"] = labels.to_numpy()
    train.to_csv(out / "train.csv", index=False)
    shutil.copy(src / "sample_submission.csv", out)
    (out / "train").mkdir()
    for i in train["id"]:
        shutil.copy(src / "train" / f"{i}.png", out / "train")
    shutil.copytree(src / "test", out / "test")
    return dst


def write_configs(work: Path, data: Path, epochs: int, model: str) -> dict[str, Path]:
    """teacher.yaml (best checkpoint, the default) and one student per mode."""
    common = {
        "extends": str(ROOT / "configs/digits/base.yaml"),
        "model": {"name": model},
        "folds": {"method": "kfold", "n_splits": 2, "seed": 42},  # folds ignore the labels
        "infer": {"tta": ["identity"]},
        "paths": {"data": str(data), "runs": str(work / "runs"), "submissions": str(work)},
    }
    train = {"epochs": epochs, "progress": False}
    teacher = {**common, "name": "teacher", "train": {**train, "checkpoint": "best"}}
    paths = {"teacher": work / "teacher.yaml"}
    paths["teacher"].write_text(yaml.safe_dump(teacher))
    for i, asked in enumerate(MODES.values()):
        student = {
            **common,
            "name": f"student{i}",
            # fold 0 only, predicting with its last epoch: nothing of its own reads fold 0
            "train": {**train, "checkpoint": "last", "folds": [0]},
            "pseudo": {"teacher": "teacher.yaml", "threshold": None, "teacher_checkpoint": asked},
        }
        paths[f"student{i}"] = work / f"student{i}.yaml"
        paths[f"student{i}"].write_text(yaml.safe_dump(student))
    return paths


def fold0_predictions(config: Path) -> np.ndarray:
    """The student's fold-0 classes for fold 0's rows, from its fold-0 last.pt."""
    exp = Experiment(load_config(config))
    rows = np.flatnonzero(exp.fold_of_row == 0)
    logits = np.concatenate(
        list(UnitPredictor(exp).per_seed(0, exp.train_images[rows], ["identity"]))
    )
    return exp.task.merge(logits, "prob").argmax(1)


def run_chain(work: Path, data: Path, epochs: int, model: str) -> dict[str, np.ndarray]:
    configs = write_configs(work, data, epochs, model)
    out = {}
    for i, mode in enumerate(MODES):
        pipeline.run("train", pipeline.Request(config=configs[f"student{i}"]))
        out[mode] = fold0_predictions(configs[f"student{i}"])
    teacher = load_config(configs["teacher"])
    best = pd.read_json(teacher.run_dir / "fold0/seed0/result.json", typ="series")["best_epoch"]
    print(f"  {work.name}: teacher fold 0 best epoch {best} of {epochs}", flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=600)
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--model", default="resnet10t")
    p.add_argument("--repeats", type=int, default=1, help="permutations of fold 0's labels")
    p.add_argument("--work", type=Path, help="keep the runs here (default: a temp folder)")
    args = p.parse_args(argv)
    setup_logging(-1)
    logging.getLogger("podium").setLevel(logging.ERROR)
    work = args.work or Path(tempfile.mkdtemp(prefix="teacher-leak-"))
    demo = work / "demo"
    if not (demo / "digits").exists():
        write_demo(demo)
    original = write_competition(demo, work / "original" / "data", args.rows, None)
    base = run_chain(work / "original", original, args.epochs, args.model)
    folds = pd.read_csv(work / "original/runs/digits/folds.csv", dtype={"id": str})
    labels = pd.read_csv(original / "digits/train.csv", dtype=str)["label"]
    fold0 = np.flatnonzero(folds["fold"].to_numpy() == 0)
    changed: dict[str, list[int]] = {m: [] for m in MODES}
    for r in range(args.repeats):
        permuted = labels.copy()
        permuted.iloc[fold0] = np.random.default_rng(r).permutation(labels.iloc[fold0].to_numpy())
        name = f"permuted{r}"
        data = write_competition(demo, work / name / "data", args.rows, permuted)
        again = run_chain(work / name, data, args.epochs, args.model)
        for m in MODES:
            changed[m].append(int((again[m] != base[m]).sum()))
    print(
        f"\nfold 0's labels permuted ({len(fold0)} rows, {args.repeats} permutation(s)); "
        f"{args.model}, {args.epochs} epochs, 2 folds of {args.rows} rows, 360 test images "
        "pseudo-labelled (no threshold):"
    )
    print(f"| teacher weights | student fold-0 predictions changed (of {len(fold0)}) |")
    print("| --- | --- |")
    for m, counts in changed.items():
        print(f"| {m} | {', '.join(map(str, counts))} |")
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
