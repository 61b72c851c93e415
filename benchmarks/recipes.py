"""The training recipes side by side on one experiment: baseline vs SWA vs snapshot ensemble
vs progressive resizing vs a distilled student, on the same folds with the same epoch budget.

Each variant is the base config (default: the demo's resnet10t, one seed) with a few
`train.` overrides and its own experiment name (runs/<comp>/recipe_<variant>); podium trains
and predicts what is missing (finished variants are reused), then this prints every
variant's OOF metric and log-loss, the paired comparison with the baseline (rows fixed and
broken, McNemar, bootstrap intervals of the gains), the training time, and the inference
speed (images/s, one unit, identity view) of the student beside its teacher.

    python benchmarks/recipes.py                          # the demo, 10 epochs a variant
    python benchmarks/recipes.py --epochs 20 --only baseline swa
    python benchmarks/recipes.py -c configs/X/model.yaml --teacher configs/X/big.yaml

No recipe needs to win on saturated data such as the digits demo; the table says how far
apart the variants are and whether that is more than noise.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import numpy as np  # noqa: E402

from podium import pipeline  # noqa: E402
from podium.artifacts import read_json  # noqa: E402
from podium.config import Config, load_config  # noqa: E402
from podium.ensemble.significance import compare  # noqa: E402
from podium.experiment import Experiment  # noqa: E402
from podium.logs import setup_logging  # noqa: E402
from podium.predictions import OOF, read_oof  # noqa: E402
from podium.units.predict import UnitPredictor  # noqa: E402


def variants(epochs: int, teacher: str, small: int) -> dict[str, list[str]]:
    """Overrides per variant: the same epochs, folds and seed for all."""
    swa_start = max(2, epochs * 7 // 10 + 1)
    return {
        "baseline": [],
        "swa": [
            f"train.swa={{start_epoch: {swa_start}, lr: 0.0005, anneal_epochs: 1}}",
            "train.checkpoint=swa",
        ],
        "snapshots": ["train.cycles=2", "train.snapshots=true", "train.checkpoint=snapshots"],
        "progressive": [
            f"train.stages=[{{epochs: {epochs * 6 // 10}, image_size: {small}}}, "
            f"{{epochs: {epochs - epochs * 6 // 10}}}]"
        ],
        "distilled": [f"train.distill={{teacher: {teacher}, alpha: 0.5, temperature: 2.0}}"],
    }


def inference_speed(cfg: Config, n: int = 512) -> float:
    """Images/s of one unit (fold 0, first seed) on the first `n` train images."""
    exp = Experiment(cfg)
    images = exp.train_images[:n]
    predictor = UnitPredictor(exp)
    predictor.logits(0, cfg.train.seeds[0], images[:64], ["identity"])  # warm up
    t0 = time.perf_counter()
    predictor.logits(0, cfg.train.seeds[0], images, ["identity"])
    return len(images) / (time.perf_counter() - t0)


def train_seconds(cfg: Config) -> float:
    return sum(read_json(p)["train_seconds"] for p in cfg.run_dir.glob("fold*/seed*/result.json"))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("-c", "--config", default="configs/digits/resnet10t.yaml")
    p.add_argument("--teacher", default="resnet18d.yaml", help="relative to the config's folder")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--seeds", default="[0]")
    p.add_argument("--small", type=int, default=16, help="progressive: the first stage's size")
    p.add_argument("--only", nargs="*", help="variants to run (baseline always)")
    p.add_argument("overrides", nargs="*", metavar="key=value")
    args = p.parse_args(argv)
    setup_logging(0)
    logging.getLogger("podium").setLevel(logging.WARNING)
    common = [
        "train.progress=false",
        *args.overrides,
        f"train.epochs={args.epochs}",
        f"train.seeds={args.seeds}",
    ]
    chosen = variants(args.epochs, args.teacher, args.small)
    if args.only:
        chosen = {k: v for k, v in chosen.items() if k == "baseline" or k in args.only}

    rows, configs = {}, {}
    for name, extra in chosen.items():
        t0 = time.time()
        overrides = [*common, *extra, f"name=recipe_{name}"]
        pipeline.run("oof", pipeline.Request(config=Path(args.config), overrides=overrides))
        cfg = load_config(Path(args.config), overrides)
        configs[name] = cfg
        print(f"  {name}: trained and predicted in {time.time() - t0:.0f}s", flush=True)

    base = Experiment(configs["baseline"])
    y, fold = base.comp.targets, base.fold_of_row
    task, metric, loss = base.task, base.task.metric, base.task.valid_loss
    preds = {
        n: read_oof(c.run_dir / OOF, task, base.comp.train_ids, fold) for n, c in configs.items()
    }
    for name, pred in preds.items():
        rows[name] = (metric(y, pred), loss(y, pred))

    print(
        f"\nrecipes: {args.config}, {args.epochs} epochs, seeds {args.seeds}, "
        f"{len(y)} rows, {len(np.unique(fold))} folds"
    )
    print(f"  {'variant':<12} {metric.name:>9} {loss.name:>9} {'train s':>8}  vs baseline")
    for name, (score, ll) in rows.items():
        vs = ""
        if name != "baseline":
            c = compare(task, y, preds[name], preds["baseline"])
            g, gl = c.gains[metric.name], c.gains[loss.name]
            vs = (
                f"fixes {c.fixed} breaks {c.broken} (p={c.mcnemar_p:.2f}); {metric.name} "
                f"{g.observed:+.4f} [{g.low:+.4f}, {g.high:+.4f}]; {loss.name} {gl.observed:+.4f} "
                f"[{gl.low:+.4f}, {gl.high:+.4f}]"
            )
        secs = train_seconds(configs[name])
        print(f"  {name:<12} {score:>9.4f} {ll:>9.4f} {secs:>8.0f}  {vs}")

    if "distilled" in configs:
        teacher_path = Path(args.config).parent / args.teacher
        pipeline.run("oof", pipeline.Request(config=teacher_path, overrides=args.overrides))
        teacher_cfg = load_config(teacher_path, args.overrides)
        teacher_scores = read_json(teacher_cfg.run_dir / "scores.json")
        print(
            f"  teacher {teacher_cfg.name}: cv {teacher_scores['cv']:.4f} "
            f"{teacher_scores['valid_loss_name']} "
            f"{teacher_scores['valid_loss']:.4f} (its own epochs and TTA: {teacher_cfg.train.epochs}, "
            f"{teacher_cfg.infer.tta})"
        )
        for label, cfg in (("student", configs["distilled"]), ("teacher", teacher_cfg)):
            print(f"  inference {label} {cfg.model.name}: {inference_speed(cfg):,.0f} images/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
