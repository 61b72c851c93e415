"""The demo's table with its spread: `make demo` run on several fold seeds, each run's CV
and hidden-test figures, and the ensemble's gain over its best member with its paired tests.

Runs `podium score -c CONFIG folds.seed=S` for each seed into its own runs folder (podium
skips finished work, so a second call mostly prints), then for each run reads scores.json (every
member's CV, the chosen candidate, nested selection, the CV paired comparison) and scores the
chosen ensemble and the best member by CV against the hidden solution.csv, on the same rows,
with the same paired comparison (bootstrap interval, McNemar). The hard demo's hidden test
renders each held-out digit twice (`podium.hard_digits`), so its comparison resamples
digits, not images (a sign-flip test over digits in place of McNemar). The README's demo
table is this script's output.

    python benchmarks/demo_spread.py                      # configs/digits_hard/ensemble.yaml
    python benchmarks/demo_spread.py --seeds 42,7 --runs /tmp/spread train.epochs=2

Each run's wall time is printed: it is a timing only when nothing else shares the cores.
The runs use torch's threads as `make demo` does (one per core, or OMP_NUM_THREADS): the
number of threads changes the order of floating-point sums, so the README's table is what
`make demo` prints on a 2-core machine of its type, and another thread count gives other
fourth digits within the table's spread.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from podium.artifacts import read_json, require
from podium.competition import Competition
from podium.config import Config, load_config
from podium.ensemble.significance import PairedComparison, compare
from podium.hard_digits import rendered_from
from podium.predictions import read_test


@dataclass(frozen=True)
class SeedRun:
    """One fold seed's figures: CV (the members' folds) and hidden test (solution.csv)."""

    seed: int
    seconds: float  # of the `podium score` call (short where its work was finished)
    members_cv: dict[str, float]
    best_member: str
    chosen: str
    chosen_cv: float
    nested_cv: float
    cv_paired: PairedComparison | None
    best_member_test: float
    chosen_test: float
    test_paired: PairedComparison


def run_demo(config: str, seed: int, runs: Path, overrides: list[str]) -> float:
    """`podium score` of the ensemble on fold seed `seed` into runs/seed<seed>; its seconds.
    Always called: podium's own stamps skip what is finished and redo what the code or the
    inputs changed (a marker of "done" here once kept an ensemble made by older code)."""
    t0 = time.time()
    subprocess.run(
        [sys.executable, "-m", "podium", "score", "-c", config, *seed_overrides(seed, runs)]
        + ["train.progress=false", *overrides],
        check=True,
    )
    return time.time() - t0


def seed_overrides(seed: int, runs: Path) -> list[str]:
    out = runs / f"seed{seed}"
    return [f"folds.seed={seed}", f"paths.runs={out}", f"paths.submissions={out / 'submissions'}"]


def figures(cfg: Config, seed: int, seconds: float) -> SeedRun:
    scores = read_json(require(cfg.run_dir / "scores.json", "ensemble scores", "podium ensemble"))
    metric = scores.get("metric", cfg.competition.metric)
    cands = scores["candidates"]
    members = {n: c[metric] for n, c in cands.items() if c["kind"] == "member"}
    vs = scores.get("vs_best_member")  # the member the ensemble stage compared with
    best = vs["member"] if vs else max(members, key=lambda n: members[n])
    comp = Competition.from_config(cfg)
    y, _ = comp.solution_targets(comp.test_ids)
    task = comp.task
    chosen_test = read_test(cfg.run_dir / "test.parquet", task, comp.test_ids)
    member_test = read_test(cfg.comp_dir / best / "test.parquet", task, comp.test_ids)
    digits = np.array([rendered_from(i) for i in comp.test_ids])
    return SeedRun(
        seed=seed,
        seconds=seconds,
        members_cv=members,
        best_member=best,
        chosen=scores["chosen"],
        chosen_cv=float(scores["cv"]),
        nested_cv=float(scores["nested_selection"][metric]),
        cv_paired=PairedComparison.from_json(vs) if vs else None,
        best_member_test=float(task.metric(y, member_test)),
        chosen_test=float(task.metric(y, chosen_test)),
        test_paired=compare(task, y, chosen_test, member_test, groups=digits),
    )


def spread(values: list[float]) -> str:
    v = np.asarray(values)
    return f"{v.mean():.4f} +- {v.std(ddof=1) if len(v) > 1 else 0.0:.4f}"


def print_table(runs: list[SeedRun], metric: str) -> None:
    for r in runs:
        took = f"{r.seconds:.0f}s"
        print(f"fold seed {r.seed} ({took}):")
        for name, score in sorted(r.members_cv.items(), key=lambda kv: -kv[1]):
            print(f"  member {name:<22} CV {metric} {score:.4f}")
        print(
            f"  chosen {r.chosen:<22} CV {metric} {r.chosen_cv:.4f}  nested {r.nested_cv:.4f}  "
            f"hidden test {r.chosen_test:.4f} (best member {r.best_member}: "
            f"{r.best_member_test:.4f})"
        )
        if r.cv_paired is not None:
            print("  CV:   " + r.cv_paired.summary(r.chosen, r.best_member))
        print("  test: " + r.test_paired.summary(r.chosen, r.best_member))
    print(f"over {len(runs)} fold seeds (mean +- sd):")
    rows = {
        "best member, CV": [max(r.members_cv.values()) for r in runs],
        "ensemble, CV": [r.chosen_cv for r in runs],
        "ensemble, nested selection CV": [r.nested_cv for r in runs],
        "best member, hidden test": [r.best_member_test for r in runs],
        "ensemble, hidden test": [r.chosen_test for r in runs],
        "gain on CV": [r.chosen_cv - max(r.members_cv.values()) for r in runs],
        "gain on hidden test": [r.chosen_test - r.best_member_test for r in runs],
    }
    for what, values in rows.items():
        print(f"  {what:<32} {spread(values)}")
    beyond_cv = sum(r.cv_paired is not None and r.cv_paired.gains[metric].significant for r in runs)
    beyond_test = sum(r.test_paired.gains[metric].significant for r in runs)
    p_test = [r.test_paired.mcnemar_p for r in runs]
    test = "sign-flip over digits" if runs[0].test_paired.groups else "McNemar"
    print(
        f"  gain beyond noise (bootstrap interval clear of zero): CV {beyond_cv}/{len(runs)}, "
        f"hidden test {beyond_test}/{len(runs)}; hidden-test {test} p "
        + ", ".join("n/a" if p is None else f"{p:.3g}" for p in p_test)
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("-c", "--config", default="configs/digits_hard/ensemble.yaml")
    p.add_argument(
        "--seeds",
        type=lambda text: [int(v) for v in text.split(",")],
        default=[42, 7, 2026],
        help="fold seeds, comma-separated (default 42,7,2026)",
    )
    p.add_argument("--runs", type=Path, default=Path("runs/spread"))
    p.add_argument("overrides", nargs="*", metavar="key=value")
    args = p.parse_args(argv)
    results, metric = [], "accuracy"
    for seed in args.seeds:
        seconds = run_demo(args.config, seed, args.runs, args.overrides)
        cfg = load_config(args.config, [*seed_overrides(seed, args.runs), *args.overrides])
        metric = cfg.competition.metric if isinstance(cfg.competition.metric, str) else metric
        results.append(figures(cfg, seed, seconds))
    print_table(results, metric)
    return 0


if __name__ == "__main__":
    sys.exit(main())
