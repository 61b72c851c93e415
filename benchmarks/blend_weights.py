"""Are blend weights fitted on single-model OOF the right weights for the fold-averaged test
predictions? A measurement on the demos' hidden solutions (#23 item 8).

An OOF row is predicted by the one fold model that did not see it; a test row by the mean of
the K fold models. Averaging removes part of each member's model noise, so a member whose
fold models disagree a lot gains more from it on the test than the OOF shows, and OOF-fitted
weights may give it too little (or the smoother member too much). Here, for each demo:

1. the members are trained through the CLI (`podium ensemble`, which trains what is missing:
   small CNNs, few epochs, few folds, and a tabular member on the pixels);
2. each member's gain from fold averaging on the test: one fold model alone (mean over the
   K fold models of their test scores) against the fold-averaged test prediction;
3. for each of the task's fitted blends, weights fitted on the OOF rows (the mean over folds
   of the fold weights, as `podium ensemble` applies them to the test), weights fitted on the
   test rows themselves (the oracle, for measurement only: in-sample on all test rows, and
   cross-fitted between solution.csv's Public and Private halves, which is honest about the
   oracle's own overfitting), and the same weights shrunk towards equal
   (`ensemble.blend.shrink`);
4. the test score of each weighting, with a paired bootstrap over test rows of its gap to the
   OOF-fitted weights (mean and 95% interval), and the fold-to-fold spread of the OOF weights.

    OMP_NUM_THREADS=1 python benchmarks/blend_weights.py                   # both demos
    OMP_NUM_THREADS=1 python benchmarks/blend_weights.py --demo regression --folds 3

It prints the load it ran under (threads, load average, wall time). CPU only; each demo
takes a few minutes on one thread with the defaults.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import numpy as np  # noqa: E402
import yaml  # noqa: E402

from podium.cli import main as podium  # noqa: E402
from podium.config import load_config  # noqa: E402
from podium.ensemble.blend import blend_cv, shrink_weights  # noqa: E402
from podium.ensemble.inputs import Inputs, load_inputs  # noqa: E402
from podium.predictions import TEST_BY_FOLD, read_test_by_fold  # noqa: E402
from podium.tasks import Blend, Task  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
# demo -> (demo-data --task, configs folder, the members: name -> config sections)
DEMOS: dict[str, tuple[str, str, dict[str, dict]]] = {
    "regression": (
        "regression",
        "digits_regression",
        {
            "cnn": {"model": {"name": "resnet10t"}},
            "cnn_bce": {"model": {"name": "resnet10t"}, "train": {"loss": "bce"}},
            "svr": {
                "tabular": {
                    "model": "svr",
                    "image_size": 8,
                    "grayscale": True,
                    "params": {"C": 10, "gamma": 0.256},
                }
            },
        },
    ),
    "multiclass": (
        "multiclass",
        "digits",
        {
            "cnn": {"model": {"name": "resnet10t"}},
            "svc": {
                "tabular": {
                    "model": "svc",
                    "image_size": 8,
                    "grayscale": True,
                    "params": {"C": 10, "gamma": 0.256},
                }
            },
        },
    ),
}
SHRINKS = (0.25, 0.5, 0.75, 1.0)


@dataclass(frozen=True)
class Gap:
    """One weighting's test score and its paired bootstrap gap to the OOF-fitted weights
    (positive: better than them)."""

    name: str
    weights: np.ndarray | None
    score: float
    gain: float
    low: float
    high: float


def write_configs(work: Path, demo: str, folds: int, epochs: int, repeat: int) -> Path:
    """base.yaml over the demo's own (repeat r: folds.seed 42 + r, train.seeds [r]), one
    config per member, ensemble.yaml; returns the ensemble's path."""
    _, folder, members = DEMOS[demo]
    base = {
        "extends": str(ROOT / "configs" / folder / "base.yaml"),
        "folds": {"n_splits": folds, "seed": 42 + repeat},
        "train": {"epochs": epochs, "progress": False, "seeds": [repeat]},
        "infer": {"tta": ["identity"]},
        "paths": {
            "data": str(work / "data"),
            "runs": str(work / "runs"),
            "submissions": str(work / "subs"),
        },
    }
    (work / "base.yaml").write_text(yaml.safe_dump(base))
    for name, sections in members.items():
        cfg = {"extends": "base.yaml", "name": name, **sections}
        if "train" in sections:
            cfg["train"] = {**base["train"], **sections["train"]}
        (work / f"{name}.yaml").write_text(yaml.safe_dump(cfg))
    ens = {
        "extends": "base.yaml",
        "name": "blend",
        "ensemble": {
            "members": [f"{n}.yaml" for n in members],
            "meta": {"seeds": [0], "prior": "blend"},
        },
    }
    path = work / "ensemble.yaml"
    path.write_text(yaml.safe_dump(ens))
    return path


@dataclass(frozen=True)
class Scorer:
    """A test score, signed so that greater is better: the competition metric, or the task's
    validation loss (what the blends' weights minimise)."""

    name: str
    fn: Callable[[np.ndarray, np.ndarray], float]
    greater: bool

    def __call__(self, y: np.ndarray, pred: np.ndarray, rows: np.ndarray) -> float:
        value = self.fn(y[rows], pred[rows])
        return value if self.greater else -value


def scorers(task: Task) -> list[Scorer]:
    metric, loss = task.metric, task.valid_loss
    return [Scorer(metric.name, metric, metric.greater_is_better), Scorer(loss.name, loss, False)]


def bootstrap_gain(
    score: Scorer, y: np.ndarray, pred: np.ndarray, ref: np.ndarray, n: int, seed: int
) -> tuple[float, float, float]:
    """Mean and 95% interval of score(pred) - score(ref) over bootstrap resamples of rows."""
    rng = np.random.default_rng(seed)
    gains = []
    for _ in range(n):
        rows = rng.integers(0, len(y), len(y))
        gains.append(score(y, pred, rows) - score(y, ref, rows))
    low, high = np.percentile(gains, [2.5, 97.5])
    return float(np.mean(gains)), float(low), float(high)


def averaging_gains(inputs: Inputs, y_test: np.ndarray) -> list[str]:
    """Each member's test score from one fold model (mean and std over the K models) and from
    the fold-averaged prediction: the averaging gain the OOF cannot see."""
    task, everything = inputs.task, np.arange(len(y_test))
    folds = sorted(np.unique(inputs.fold).tolist())
    lines = []
    for m in inputs.members:
        by_fold = read_test_by_fold(m.run_dir / TEST_BY_FOLD, task, inputs.comp.test_ids, folds)
        for score in scorers(task):
            singles = [score(y_test, p, everything) for p in by_fold.values()]
            merged = score(y_test, m.test, everything)
            lines.append(
                f"  {m.name:<8} {score.name:<9} one fold model {np.mean(singles):+.4f} ± "
                f"{np.std(singles):.4f} (K={len(folds)}), fold mean {merged:+.4f}: averaging "
                f"gains {merged - np.mean(singles):+.4f}"
            )
    return lines


def cross_fitted_oracle(
    blend: Blend, tests: list[np.ndarray], y_test: np.ndarray, half: np.ndarray
) -> np.ndarray:
    """Test predictions whose Public rows are blended with weights fitted on the Private rows
    and the other way round: the test's own best weights, without in-sample overfitting."""
    out = np.zeros_like(tests[0])
    for h in (True, False):
        w = np.asarray(blend.fit([t[half != h] for t in tests], y_test[half != h]))
        out[half == h] = blend.apply([t[half == h] for t in tests], w)
    return out


def measure(
    inputs: Inputs, y_test: np.ndarray, half: np.ndarray, boot: int
) -> tuple[list[str], dict[str, float]]:
    """The printout of one run, and each (blend, weighting)'s test gain over the OOF-fitted
    weights."""
    task, y, fold = inputs.task, inputs.y, inputs.fold
    oofs, tests = [m.oof for m in inputs.members], [m.test for m in inputs.members]
    names = [m.name for m in inputs.members]
    lines = [
        f"test scores, signed so that higher is better (losses and errors negated); "
        f"{len(y_test)} test rows; gains: paired bootstrap over test rows ({boot} resamples)"
    ]
    gains: dict[str, float] = {}
    lines += averaging_gains(inputs, y_test)
    assert task.stacking is not None
    for bname, blend in task.stacking.blends().items():
        _, _, w_folds = blend_cv(oofs, tests, y, fold, blend)
        w_oof = w_folds.mean(axis=0)
        ref = blend.apply(tests, w_oof)
        w_oracle = np.asarray(blend.fit(tests, y_test))
        weightings = {
            "OOF-fitted (podium)": (w_oof, ref),
            **{
                f"shrink {s:.2f}": (w := shrink_weights(w_oof, s), blend.apply(tests, w))
                for s in SHRINKS
            },
            "oracle, cross-fitted halves": (None, cross_fitted_oracle(blend, tests, y_test, half)),
            "oracle, in-sample (optimistic)": (w_oracle, blend.apply(tests, w_oracle)),
        }
        everything = np.arange(len(y_test))
        spread = w_folds.std(axis=0)
        lines.append(f"\n{bname}: weights over {', '.join(names)}")
        lines.append(
            "  OOF weights: mean over folds "
            + " ".join(f"{float(np.mean(v)):.3f}" for v in w_oof)
            + ", fold std "
            + " ".join(f"{float(np.mean(v)):.3f}" for v in spread)
        )
        for score in scorers(task):
            lines.append(f"  test {score.name}:")
            for i, (name, (w, pred)) in enumerate(weightings.items()):
                g = Gap(
                    name,
                    w,
                    score(y_test, pred, everything),
                    *bootstrap_gain(score, y_test, pred, ref, boot, seed=i),
                )
                gains[f"{bname} {score.name}: {g.name}"] = g.gain
                w_txt = "" if w is None else " ".join(f"{float(np.mean(v)):.3f}" for v in w)
                lines.append(
                    f"    {g.name:<32} w [{w_txt:<20}] {g.score:+.4f}  vs OOF-fitted "
                    f"{g.gain:+.4f} [{g.low:+.4f}, {g.high:+.4f}]"
                )
    return lines, gains


def run_demo(
    demo: str, work: Path, folds: int, epochs: int, boot: int, repeat: int
) -> tuple[list[str], dict[str, float]]:
    task_flag = DEMOS[demo][0]
    if podium(["-q", "demo-data", "--task", task_flag, "--data", str(work / "data")]):
        sys.exit(f"demo-data --task {task_flag} failed")
    path = write_configs(work, demo, folds, epochs, repeat)
    t0 = time.time()
    if podium(["-q", "ensemble", "-c", str(path)]):
        sys.exit(f"podium ensemble -c {path} failed")
    cfg = load_config(path)
    inputs = load_inputs(cfg, cfg.section("ensemble"))
    y_test, rows = inputs.comp.solution_targets(inputs.comp.test_ids)
    half = (rows["Usage"] == "Public").to_numpy()
    lines, gains = measure(inputs, y_test, half, boot)
    head = (
        f"== {demo}, repeat {repeat} (folds.seed {42 + repeat}, train.seeds [{repeat}]): "
        f"{folds} folds, {epochs} epochs ({time.time() - t0:.0f}s to train)"
    )
    return [head, *lines], gains


def summary(demo: str, runs: list[dict[str, float]]) -> list[str]:
    """Each weighting's test gain over the OOF-fitted weights, mean ± std over the repeats."""
    lines = [f"== {demo}: test gain over the OOF-fitted weights, over {len(runs)} repeat(s)"]
    for key in runs[0]:
        values = np.array([r[key] for r in runs])
        lines.append(
            f"  {key:<44} {values.mean():+.4f} ± {values.std():.4f}  "
            f"(per repeat: {' '.join(f'{v:+.4f}' for v in values)})"
        )
    return lines


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--demo", choices=[*DEMOS, "all"], default="all")
    p.add_argument("--folds", type=int, default=3)
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--boot", type=int, default=1000, help="bootstrap resamples of test rows")
    p.add_argument("--repeats", type=int, default=1, help="runs with other folds and seeds")
    p.add_argument("--work", help="keep runs here (default: a temporary folder)")
    args = p.parse_args()
    t0 = time.time()
    load0 = os.getloadavg()
    demos = list(DEMOS) if args.demo == "all" else [args.demo]
    lines: list[str] = []
    summaries: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        for demo in demos:
            runs = []
            for r in range(args.repeats):
                work = Path(args.work or tmp) / demo / f"r{r}"
                work.mkdir(parents=True, exist_ok=True)
                printed, gains = run_demo(demo, work, args.folds, args.epochs, args.boot, r)
                lines += [*printed, ""]
                runs.append(gains)
            summaries += [*summary(demo, runs), ""]
    import torch

    load1 = os.getloadavg()
    print("\n".join(lines + summaries))
    print(
        f"load: OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, torch threads "
        f"{torch.get_num_threads()}, {os.cpu_count()} CPUs, load average "
        f"{load0[0]:.2f} at start / {load1[0]:.2f} at end, wall {time.time() - t0:.0f}s"
    )


if __name__ == "__main__":
    main()
