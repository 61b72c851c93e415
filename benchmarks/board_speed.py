"""How long `podium board` takes on a big competition: 50 experiments x 5 folds (20 epochs
of history each), every one with its stamps, scores.json and a submission scored on the demo's
solution.csv, half of them with a recorded LB score. The target is under 10 s.

The runs tree is synthetic but stamped by podium's own stamp functions (unit, oof, infer), so
the board does the freshness work it does on real runs (every stamp recomputed: configs
loaded, train.csv and the 1,797 images' sizes and mtimes read per experiment). Timed twice: in
process (the board alone) and as a fresh `podium board` process (imports included).

    python benchmarks/board_speed.py [--experiments 50] [--folds 5] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

from podium import cli  # noqa: E402
from podium.artifacts import write_csv, write_json  # noqa: E402
from podium.board.leaderboard import LbScore, leaderboard_path, record_scores  # noqa: E402
from podium.config import load_config  # noqa: E402
from podium.experiment import Experiment  # noqa: E402
from podium.metrics import FoldScore, ScoreBlock, scores_header  # noqa: E402
from podium.stages import folds as folds_stage  # noqa: E402
from podium.stages.demo_data import write_demo  # noqa: E402
from podium.units.predict import infer_stamp, oof_stamp  # noqa: E402
from podium.units.stamps import unit_stamp  # noqa: E402
from podium.units.train import prepare  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
EPOCHS = 20


def history(rng: np.random.Generator) -> pd.DataFrame:
    epoch = np.arange(1, EPOCHS + 1)
    return pd.DataFrame(
        {
            "epoch": epoch,
            "train_loss": 2 / epoch + rng.random(EPOCHS) * 0.05,
            "valid_loss": 1.5 / epoch + rng.random(EPOCHS) * 0.05,
            "valid_accuracy": 1 - 0.5 / epoch - rng.random(EPOCHS) * 0.01,
            "lr": np.linspace(3e-3, 1e-6, EPOCHS),
            "seconds": 30 + rng.random(EPOCHS),
        }
    )


def scores(rng: np.random.Generator, n_folds: int) -> dict:
    """A scores.json as `podium oof` writes it (podium.metrics.ScoreBlock)."""

    def block(v: float) -> ScoreBlock:
        folds = {k: FoldScore(v + rng.normal(0, 0.002), 0.07) for k in range(n_folds)}
        return ScoreBlock("accuracy", v, 0.07, folds)

    final = block(0.99 + rng.random() * 0.005)
    return {
        **scores_header(final, True, "log_loss"),
        "final": final.to_json(),
        "views": {
            "identity": block(final.score - 0.001).to_json(),
            "shift1_0": block(final.score - 0.002).to_json(),
        },
        "best_checkpoint": block(final.score + 0.001).to_json(),
        "seconds": 12.0,
    }


def build(work: Path, n_experiments: int, n_folds: int) -> Path:
    rng = np.random.default_rng(0)
    write_demo(work / "data")
    configs = work / "configs" / "digits"
    configs.mkdir(parents=True)
    paths = {k: str(work / k) for k in ("data", "runs", "submissions")}
    base = {
        "extends": str(ROOT / "configs/digits/base.yaml"),
        "folds": {"n_splits": n_folds},
        "paths": paths,
    }
    (configs / "base.yaml").write_text(yaml.safe_dump(base))
    sample = pd.read_csv(work / "data/digits/sample_submission.csv", dtype=str)
    lb = []
    for i in range(n_experiments):
        path = configs / f"exp{i:02d}.yaml"
        own = {
            "extends": "base.yaml",
            "model": {"name": "resnet10t"},
            "train": {"lr": 1e-3 * (1 + i)},
        }
        path.write_text(yaml.safe_dump(own))
        cfg = load_config(path)
        if i == 0:
            folds_stage.run(cfg)
        exp = Experiment(cfg)
        prepare(exp)
        for f in range(n_folds):
            unit = exp.unit_dir(f, 0)
            write_csv(unit / "history.csv", history(rng))
            unit_stamp(exp, f, 0).write(
                best_score=0.99,
                best_epoch=EPOCHS,
                epochs_run=EPOCHS,
                metric="accuracy",
                final_score=0.99,
                train_seconds=600.0,
            )
        s = scores(rng, n_folds)
        for name in ("oof.parquet", "test.parquet"):
            (exp.run_dir / name).write_bytes(b"synthetic")
        write_json(exp.run_dir / "scores.json", s)
        oof_stamp(exp).write(cv=s["cv"])
        infer_stamp(exp).write()
        sub = sample.assign(label=rng.integers(0, 10, len(sample)))
        file = (
            Path(paths["submissions"])
            / f"digits-{cfg.name}-cv{s['cv']:.4f}-20261205T1200{i:02d}000Z.csv"
        )
        file.parent.mkdir(exist_ok=True)
        sub.to_csv(file, index=False)
        if i % 2 == 0:
            lb.append(LbScore(file.name, 0.98 + rng.random() * 0.01))
    record_scores(leaderboard_path(Path(paths["submissions"]), "digits"), lb)
    return configs / "exp00.yaml"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--experiments", type=int, default=50)
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        t0 = time.time()
        config = build(work, args.experiments, args.folds)
        print(
            f"built {args.experiments} experiments x {args.folds} folds in {time.time() - t0:.0f}s"
        )
        out = work / "board.html"
        command = ["board", "-c", str(config), "--out", str(out)]
        in_process, process = [], []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            assert cli.main(["-q", *command]) == 0
            in_process.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "podium", "-q", *command], check=True)
            process.append(time.perf_counter() - t0)
        page = out.read_text()
        rows = page.count("<tr data-experiment=")
        assert rows == args.experiments, rows
        assert page.count('data-freshness="fresh"') == args.experiments
        load = os.getloadavg()
        result = {
            "experiments": args.experiments,
            "folds": args.folds,
            "in_process_s": [round(t, 2) for t in in_process],
            "process_s": [round(t, 2) for t in process],
            "page_mb": round(out.stat().st_size / 1e6, 2),
            "load_avg_1_5_15": [round(v, 2) for v in load],
            "cores": os.cpu_count(),
        }
        print(json.dumps(result))
        print(
            f"board of {args.experiments} x {args.folds}: in process median "
            f"{statistics.median(in_process):.1f}s (min {min(in_process):.1f}, max {max(in_process):.1f}); "
            f"as a process {statistics.median(process):.1f}s (min {min(process):.1f}, max "
            f"{max(process):.1f}); page {result['page_mb']} MB; load {load[0]:.1f}"
        )


if __name__ == "__main__":
    main()
