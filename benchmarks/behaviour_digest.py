"""A digest of everything the demos produce, to show that a refactor changed no behaviour.

Runs every demo's ensemble (and the digits demo's pseudo-label student, both tune studies and
an export -> predict round trip) at a small scale through the CLI, then records every number
of every `scores.json` (to all digits, run times left out), a hash of every prediction file's
content and of every submission. Run it before and after a change on the same machine and
compare:

    python benchmarks/behaviour_digest.py --out /tmp/before.json    # on the old commit
    python benchmarks/behaviour_digest.py --out /tmp/after.json     # on the new one
    python benchmarks/behaviour_digest.py --compare /tmp/before.json /tmp/after.json

`--compare` prints each difference and exits 1 if there is any. The scale (3 folds, 2 epochs,
one seed, written into a copy of each demo's configs) keeps a run to minutes on 2 CPU cores
while every code path of the full demos runs: members of each kind, TTA, blends, the stack,
decisions, submissions.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
DEMOS = {
    "digits": "multiclass",
    "digits_regression": "regression",
    "digits_multilabel": "multilabel",
    "digits_ordinal": "ordinal",
    "digits_metadata": "metadata",
}
# written into every config file of a demo (a copy): command-line overrides would not reach
# the configs a config names (a student's teacher), and `ensemble.meta` only on an ensemble
SMALL = {"folds": {"n_splits": 3}, "train": {"epochs": 2, "seeds": [0], "progress": False}}
SMALL_META = {"ensemble": {"meta": {"seeds": [0]}}}
# a 2-epoch teacher is rarely 0.8 sure, and misses a class: keep every row, uncapped
SMALL_PSEUDO = {"pseudo": {"threshold": 0.0, "balance": False}}
IGNORED_KEYS = {"seconds", "settings", "started", "finished", "elapsed", "path"}


def podium(*args: str, cwd: Path = ROOT) -> None:
    cmd = [sys.executable, "-m", "podium", "-q", *args]
    # one thread: floating-point sums do not depend on the machine's load or core count
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"failed: {' '.join(cmd)}")


def numbers(obj: object, prefix: str = "") -> dict[str, object]:
    """Every leaf of a JSON object, keyed by its path (run times and paths left out)."""
    out: dict[str, object] = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k in IGNORED_KEYS:
                continue
            out.update(numbers(v, f"{prefix}.{k}" if prefix else str(k)))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out.update(numbers(v, f"{prefix}[{i}]"))
    else:
        out[prefix] = obj
    return out


def content_hash(path: Path) -> str:
    """A parquet file by its table's content (not its writer's metadata), a CSV by its bytes."""
    if path.suffix == ".parquet":
        frame = pd.read_parquet(path)
        text = frame.to_csv(index=False, float_format="%.17g")
        return hashlib.sha256(f"{list(frame.dtypes)}\n{text}".encode()).hexdigest()
    return hashlib.sha256(path.read_bytes()).hexdigest()


def digest_tree(runs: Path, subs: Path) -> dict[str, object]:
    out: dict[str, object] = {}
    for path in sorted(runs.rglob("scores.json")):
        rel = str(path.relative_to(runs))
        if "/tune/" in rel and "/trial" in rel:
            continue  # trial folders: the study's summary covers them
        out[rel] = numbers(json.loads(path.read_text()))
    for path in sorted(runs.rglob("*.parquet")):
        rel = str(path.relative_to(runs))
        if "/cache/" in f"/{rel}" or "/trial" in rel:
            continue
        out[rel] = content_hash(path)
    for path in sorted(runs.rglob("summary.json")):
        out[str(path.relative_to(runs))] = numbers(json.loads(path.read_text()))
    for i, path in enumerate(sorted(subs.glob("*.csv"))):
        name = path.name.split("-cv")[0]
        out[f"submission:{name}:{i}"] = content_hash(path)
    return out


def deep_merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        out[k] = (
            deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
        )
    return out


def small_configs(work: Path, demo: str) -> Path:
    """configs/<demo>/ copied to `work` with the small scale written into every file."""
    dest = work / "configs" / demo
    shutil.copytree(ROOT / "configs" / demo, dest)
    for path in dest.glob("*.yaml"):
        config = yaml.safe_load(path.read_text()) or {}
        small = deep_merge(SMALL, SMALL_META) if "ensemble" in config else SMALL
        small = deep_merge(small, SMALL_PSEUDO) if "pseudo" in config else small
        path.write_text(yaml.safe_dump(deep_merge(config, small), sort_keys=False))
    return dest


def run_all(work: Path, demos: list[str], extras: bool) -> dict[str, object]:
    digest: dict[str, object] = {}
    for demo in demos:
        if not (ROOT / "data" / demo / "train.csv").exists():
            podium("demo-data", "--task", DEMOS[demo])
        runs, subs = work / demo / "runs", work / demo / "submissions"
        paths = [f"paths.runs={runs}", f"paths.submissions={subs}"]
        configs = small_configs(work, demo)
        config = str(configs / "ensemble.yaml")
        podium("score", "-c", config, *paths)
        if demo == "digits" and extras:
            podium("pseudo", "-c", str(configs / "pseudo.yaml"), *paths)
            podium("tune", "-c", str(configs / "tune.yaml"), "tune.n_trials=2", *paths)
            podium("tune", "-c", str(configs / "tune_meta.yaml"), "tune.n_trials=2", *paths)
            bundle = work / demo / "bundle"
            podium("export", "-c", config, *paths, "--out", str(bundle))
            predicted = work / demo / "predicted" / "submission.csv"
            podium(
                "predict", "--bundle", str(bundle), "--data", "data/digits", "--out", str(predicted)
            )
            digest[f"{demo}:bundle_submission"] = content_hash(predicted)
        for key, value in digest_tree(runs, subs).items():
            digest[f"{demo}:{key}"] = value
    return digest


def numbers_of(block: dict[str, object]) -> Counter[float]:
    """A scores.json's numbers as a multiset (12 significant digits): a renamed key keeps its
    number, so a refactor that renames keys compares equal (`--compare --numbers`)."""
    return Counter(
        float(f"{v:.12g}")
        for v in block.values()
        if isinstance(v, (int, float)) and not isinstance(v, bool)
    )


def compare(a: dict[str, object], b: dict[str, object], by_numbers: bool = False) -> int:
    differences = 0
    for key in sorted(set(a) | set(b)):
        if key not in a or key not in b:
            print(f"only in {'after' if key not in a else 'before'}: {key}")
            differences += 1
            continue
        va, vb = a[key], b[key]
        if by_numbers and isinstance(va, dict) and isinstance(vb, dict):
            na, nb = numbers_of(va), numbers_of(vb)
            if na != nb:
                before, after = sorted((na - nb).elements()), sorted((nb - na).elements())
                print(f"{key}: numbers only before {before[:8]}, only after {after[:8]}")
                differences += 1
        elif isinstance(va, dict) and isinstance(vb, dict):
            for leaf in sorted(set(va) | set(vb)):
                if va.get(leaf, "<missing>") != vb.get(leaf, "<missing>"):
                    print(
                        f"{key} {leaf}: {va.get(leaf, '<missing>')} -> {vb.get(leaf, '<missing>')}"
                    )
                    differences += 1
        elif va != vb:
            print(f"{key}: content differs")
            differences += 1
    print(f"{differences} difference(s) over {len(set(a) | set(b))} artifacts")
    return 1 if differences else 0


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--out", type=Path, help="write the digest here")
    p.add_argument("--work", type=Path, default=Path("/tmp/podium-digest"), help="scratch runs")
    p.add_argument("--demos", default=",".join(DEMOS), help="comma-separated demo names")
    p.add_argument("--no-extras", action="store_true", help="skip pseudo, tune, export/predict")
    p.add_argument("--compare", nargs=2, type=Path, metavar=("BEFORE", "AFTER"))
    p.add_argument(
        "--numbers", action="store_true", help="--compare each scores.json's numbers, not keys"
    )
    args = p.parse_args()
    if args.compare:
        before, after = (json.loads(path.read_text()) for path in args.compare)
        return compare(before, after, args.numbers)
    if args.out is None:
        p.error("--out is required unless --compare is given")
    shutil.rmtree(args.work, ignore_errors=True)
    os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
    digest = run_all(args.work, args.demos.split(","), not args.no_extras)
    args.out.write_text(json.dumps(digest, indent=1, sort_keys=True, default=str))
    print(f"{len(digest)} artifacts -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
