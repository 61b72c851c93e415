"""One command that checks every GPU path of podium, in under 8 minutes on one GPU, and
writes a Markdown report plus JSON (gpu_check.md, gpu_check.json and the commands' output in
gpu_check.log, in --out). The same script runs on the CPU with small sizes, so CI runs it.

Its rows, one per GPU path:
  setup        torch sees the device (without it nothing else is started)
  cuda tests   `pytest -m cuda`, one row per test: autocast in bf16 and fp16 with the grad
               scaler, channels_last, torch.compile, pinned-memory prefetch, EMA on the device,
               GPU inference, SyncBatchNorm under torchrun with NCCL, a --half bundle
  throughput   benchmarks/throughput.py per model (resnet50@224 and efficientnet_b0@224 at
               batch 128, resnet18@64 at batch 512; bf16, channels_last): podium's training
               img/s (`fit`) against the limit measured in the same run (the engine's own
               step on batches already on the device), the loader alone, inference alone;
               then the training again with torch.compile (last: compiling takes the longest)
  demo         the digits demo's chain (folds, train, oof, infer, submit, score) on the device
               at tiny scale (2 folds x 2 epochs), its CV against the same chain on the CPU
               (within 0.02 accuracy), its submission checked against sample_submission.csv
  torchrun     `torchrun --nproc-per-node 1 -m podium train` for one unit: NCCL with
               train.sync_bn on a GPU, gloo on the CPU
  bundle       `podium export --half` predicting on the device, against the fp32 bundle
               predicting on the CPU (each class probability within 0.02)

Each section runs its commands in processes of their own with a timeout (gpu_check_runs.py):
a failure or a hang is reported on the section's rows with its output's tail, and the next
section runs. The whole check keeps to --budget seconds (480 on a GPU); what it leaves out
is reported as not run, and `--sections` runs just those (e.g. `--sections compile`).

    python benchmarks/gpu_check.py --device cpu --out /tmp/gpu-check    # CPU, small sizes
    python benchmarks/gpu_check.py --device cpu --size tiny --out ...     # what CI runs

On a GPU machine that has Python 3.12 with torch, timm, numpy, pandas, scikit-learn and
opencv but no network (this workplace's device tool), carry the other wheels in .whl/: from
the project root here, `bash /work/shared/device/wheels.sh iterative-stratification
typing-extensions` (~20 MB: albumentations, pydantic, optuna, xgboost-cpu and their needs;
pydantic wants typing-extensions >= 4.16), then run there, from the project root (device
tool: carry [".whl"], timeout_s 600; the check keeps to 480 s, plus ~20 s of pip):

    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD/src && PYTHONUNBUFFERED=1 python3 benchmarks/gpu_check.py --device cuda --out $OUT

The wheels go to a --target folder on PYTHONPATH rather than installing podium: they come
without their dependencies (--no-deps), and xgboost-cpu does not satisfy podium's `xgboost`
requirement. This script installs nothing itself, on any device.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import re
import shlex
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from gpu_check_report import counts, write
from gpu_check_runs import BAD, Row, Runner, Section, run_section

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
PODIUM = [PYTHON, "-m", "podium"]
DEMO_CONFIG = "configs/digits/resnet10t.yaml"
# the demo chain's tiny scale: 2 folds x 2 epochs, one seed; batch 16 and no warmup so that
# its ~90 updates reach the converged region (CV ~0.98, fold std < 0.01), where a CPU and a
# GPU run differ by float rounding only (2 epochs of 11 updates stop at CV 0.2-0.6, and vary)
DEMO_SCALE = [
    "folds.n_splits=2",
    "train.epochs=2",
    "train.seeds=[0]",
    "train.warmup_epochs=0",
    "train.batch_size=16",
    "train.progress=false",
]
CV_TOLERANCE = 0.02  # accuracy: 29 of the demo's 1,437 images; a broken path loses far more
PROBABILITY_TOLERANCE = 0.02  # bf16 autocast + fp16 weights move a probability by ~1e-3
GOAL = 0.90  # issue #27: podium's training img/s at >= 90% of the limit
MIN_START = 15.0  # seconds of budget a section needs to be started at all


@dataclass(frozen=True)
class Plan:
    """The sizes of one check: throughput models and benchmarks/throughput.py's size options,
    whether to compile, the demo's overrides, the time budget and each group's own time
    limit (seconds)."""

    models: tuple[str, ...]
    compile: bool
    throughput: str
    demo_overrides: tuple[str, ...]
    budget: float
    caps: dict[str, float]


PLANS = {
    "full": Plan(  # a GPU: the three models
        models=("resnet50@224:128", "efficientnet_b0@224:128", "resnet18@64:512"),
        compile=True,
        throughput="--images 10000 --image-px 256 --epoch-seconds 3",
        demo_overrides=(),
        budget=480,
        caps={
            "setup": 60,
            "tests": 200,
            "throughput": 120,
            "demo": 180,
            "torchrun": 90,
            "bundle": 150,
            "compile": 180,
        },
    ),
    "small": Plan(  # a CPU: every row measured in a few minutes
        models=("resnet18@32:32",),
        compile=True,
        throughput="--images 256 --image-px 40 --test-images 8 --steps 5 --warmup-steps 2 "
        "--valid-images 32 --infer-images 128",
        demo_overrides=(),
        budget=1200,
        caps={
            "setup": 60,
            "tests": 300,
            "throughput": 300,
            "demo": 400,
            "torchrun": 200,
            "bundle": 300,
            "compile": 400,
        },
    ),
    "tiny": Plan(  # CI: every row, the smallest sizes; no compiling (a minute of C++ builds)
        models=("test_convnext@32:16",),
        compile=False,
        throughput="--images 64 --image-px 40 --test-images 4 --steps 2 --warmup-steps 1 "
        "--valid-images 16 --infer-images 32",
        demo_overrides=("model.name=test_convnext",),
        budget=600,
        caps={
            "setup": 60,
            "tests": 180,
            "throughput": 120,
            "demo": 180,
            "torchrun": 120,
            "bundle": 180,
            "compile": 0,
        },
    ),
}
GROUPS = ("tests", "throughput", "demo", "torchrun", "bundle", "compile")


@dataclass(frozen=True)
class Check:
    """What one check runs on: the device, its sizes, a scratch folder and the data in it."""

    device: str  # "cuda" or "cpu"
    plan: Plan
    work: Path

    @property
    def data(self) -> Path:
        return self.work / "data"

    def demo_args(self, runs: Path) -> list[str]:
        """`-c` and overrides of the demo chain, its runs (and submissions) under `runs`."""
        return [
            "-c",
            DEMO_CONFIG,
            *DEMO_SCALE,
            *self.plan.demo_overrides,
            f"paths.data={self.data}",
            f"paths.runs={runs / 'runs'}",
            f"paths.submissions={runs / 'submissions'}",
        ]


@dataclass(frozen=True)
class SectionSpec:
    group: str  # for --sections and the time caps
    name: str  # the report's section column
    paths: tuple[str, ...]  # its rows, known before it runs
    run: Section


# ---- cuda tests ------------------------------------------------------------------------------

PYTEST_LINE = re.compile(r"^(tests/\S+::\S+) (PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS)")
PYTEST_REASON = re.compile(r"^(FAILED|ERROR) (tests/\S+::\S+) - (.*)$")
PYTEST_SKIP = re.compile(r"^SKIPPED \[\d+\] (tests/[^:]+):\d+: (.*)$")
PYTEST_STATUS = {"PASSED": "passed", "XFAIL": "passed", "SKIPPED": "skipped"}


def cuda_tests(check: Check) -> SectionSpec:
    """`pytest -m cuda`: collected first (one row per test), then run; a test that hangs is
    the one left without a result when the section's time runs out."""

    def run(runner: Runner, rows: dict[str, Row]) -> None:
        # only the files that use the marker are collected (importing all of tests/ is slow)
        files = sorted(
            str(f.relative_to(ROOT))
            for f in (ROOT / "tests").rglob("test_*.py")
            if "pytest.mark.cuda" in f.read_text()
        )
        pytest = [PYTHON, "-m", "pytest", "-m", "cuda", "-p", "no:cacheprovider", *files]
        collected = runner.run([*pytest, "--collect-only", "-q"])
        ids = [line.strip() for line in collected.output.splitlines() if "::" in line]
        if not ids:
            raise RuntimeError("pytest -m cuda collected no tests (is the cuda marker used?)")
        rows.clear()
        rows.update({i: Row("cuda tests", i) for i in ids})
        done = runner.run([*pytest, "-v", "-rfEs"], check=False)
        reasons, skips = {}, {}
        for line in done.output.splitlines():
            if m := PYTEST_REASON.match(line):
                reasons[m[2]] = m[3]
            elif m := PYTEST_SKIP.match(line):
                skips[m[1]] = m[2]
        for line in done.output.splitlines():
            if (m := PYTEST_LINE.match(line)) and m[1] in rows:
                row = rows[m[1]]
                row.status = PYTEST_STATUS.get(m[2], "failed")
                row.detail = reasons.get(m[1]) or skips.get(m[1].split("::")[0], "")
        if done.status == "timed out" or done.returncode not in (0, 1):  # 1: tests failed
            runner.fail(done)

    return SectionSpec("tests", "cuda tests", ("pytest -m cuda",), run)


# ---- throughput ------------------------------------------------------------------------------


def throughput(check: Check, model: str, compiled: bool) -> SectionSpec:
    """benchmarks/throughput.py for one model: eager (training, loader, inference) or, with
    `compiled`, the training alone under torch.compile."""
    label = model.split(":")[0]
    if compiled:
        paths: tuple[str, ...] = (f"{label} training with torch.compile: podium vs limit",)
    else:
        paths = (
            f"{label} training: podium vs limit",
            f"{label} loader alone",
            f"{label} inference alone",
        )

    def run(runner: Runner, rows: dict[str, Row]) -> None:
        out = check.work / "throughput" / f"{label.replace('@', '-')}-compile{compiled:d}.json"
        argv = [PYTHON, "benchmarks/throughput.py", "--device", check.device, "--models", model]
        argv += [*check.plan.throughput.split(), "--cache-dir", str(check.work / "throughput")]
        argv += ["--json", str(out), *(["--compile", "--phases", "podium"] if compiled else [])]
        runner.run(argv)
        (r,) = json.loads(out.read_text())["results"]
        limit = r["limit"]["images_per_second"]
        training = rows[paths[0]]
        training.status = "measured"
        training.figures = {
            "limit img/s": limit,
            "podium img/s": r["podium"]["images_per_second"],
            "ratio": round(r["ratio"], 3),
            "epoch s": round(r["podium"]["extra"]["epoch_wall_seconds"], 2),
            "peak GiB": round(r["podium"]["peak_gib"], 2),
        }
        training.detail = (
            f"{r['ratio']:.0%} of the limit ({'meets' if r['ratio'] >= GOAL else 'below'} the "
            f"{GOAL:.0%} goal); batch {r['batch']}, {r['precision']}, channels_last "
            f"{r['channels_last']}, {r['workers']} loader workers, {r['steps']} steps an epoch"
        )
        if compiled:
            return
        loader = r["loader"]["images_per_second"]
        rows[paths[1]].status = "measured"
        rows[paths[1]].figures = {"img/s": loader, "of limit": round(loader / limit, 3)}
        rows[paths[1]].detail = (
            "the train loader's batches on the device, no model "
            f"({'faster' if loader >= limit else 'slower'} than the training limit)"
        )
        rows[paths[2]].status = "measured"
        rows[paths[2]].figures = {
            "img/s per view": r["infer"]["images_per_second"],
            "limit img/s": r["infer_limit"]["images_per_second"],
            "ratio": round(r["infer_ratio"], 3),
        }
        rows[
            paths[2]
        ].detail = "predict_logits (oof/infer) against the forward pass on device batches"

    name = "throughput (compile)" if compiled else "throughput"
    return SectionSpec("compile" if compiled else "throughput", name, paths, run)


# ---- the demo chain --------------------------------------------------------------------------


def write_demo_data(check: Check, runner: Runner) -> None:
    if not (check.data / "digits" / "sample_submission.csv").is_file():
        runner.run([*PODIUM, "demo-data", "--data", str(check.data)])


def demo_chain(check: Check, runner: Runner, where: str, env: dict[str, str]) -> dict:
    """`podium score` of the demo experiment (folds -> train -> oof -> infer -> submit ->
    score) into work/demo/<where>; its CV, fold spread, submission and seconds."""
    folder = check.work / "demo" / where
    done = runner.run([*PODIUM, "-q", "score", *check.demo_args(folder)], env)
    run_dir = folder / "runs" / "digits" / Path(DEMO_CONFIG).stem
    scores = json.loads((run_dir / "scores.json").read_text())
    submission = Path(json.loads((run_dir / "submission.json").read_text())["path"])
    return {
        "cv": scores["cv"],
        "fold_std": scores["final"]["fold_std"],
        "seconds": done.seconds,
        "submission": submission,
    }


def check_submission(check: Check, path: Path) -> str:
    """'' if `path` has sample_submission.csv's header, ids in its order and labels that
    train.csv has; else what is wrong."""
    comp = check.data / "digits"
    with (comp / "sample_submission.csv").open() as f:
        sample = list(csv.reader(f))
    with path.open() as f:
        sub = list(csv.reader(f))
    with (comp / "train.csv").open() as f:
        labels = {row["label"] for row in csv.DictReader(f)}
    if sub[0] != sample[0]:
        return f"header {sub[0]} is not sample_submission's {sample[0]}"
    if [r[0] for r in sub[1:]] != [r[0] for r in sample[1:]]:
        return f"{len(sub) - 1} ids, not sample_submission's {len(sample) - 1} in its order"
    unknown = sorted({r[1] for r in sub[1:]} - labels)
    return f"labels {unknown[:3]} are not in train.csv" if unknown else ""


def demo(check: Check) -> SectionSpec:
    on_device, on_cpu = f"demo chain on {check.device}", "demo chain on the CPU (reference)"
    close, valid = "demo CV close to the CPU's", "demo submission valid"

    def run(runner: Runner, rows: dict[str, Row]) -> None:
        write_demo_data(check, runner)
        dev = demo_chain(check, runner, check.device, {})
        rows[on_device].status = "passed"
        rows[on_device].figures = {
            "CV": round(dev["cv"], 4),
            "fold std": round(dev["fold_std"], 4),
            "s": round(dev["seconds"], 1),
        }
        rows[on_device].detail = "folds, train, oof, infer, submit, score (2 folds x 2 epochs)"
        wrong = check_submission(check, dev["submission"])
        rows[valid].status = "failed" if wrong else "passed"
        rows[valid].detail = wrong or f"{dev['submission'].name} matches sample_submission.csv"
        if check.device == "cpu":
            for path in (on_cpu, close):
                rows[path].status, rows[path].detail = "skipped", "the device is the CPU"
            return
        ref = demo_chain(check, runner, "cpu", {"CUDA_VISIBLE_DEVICES": ""})
        rows[on_cpu].status = "passed"
        rows[on_cpu].figures = {
            "CV": round(ref["cv"], 4),
            "fold std": round(ref["fold_std"], 4),
            "s": round(ref["seconds"], 1),
        }
        gap = abs(dev["cv"] - ref["cv"])
        rows[close].status = "passed" if gap <= CV_TOLERANCE else "failed"
        rows[close].figures = {"|CV difference|": round(gap, 4), "tolerance": CV_TOLERANCE}

    return SectionSpec("demo", "demo", (on_device, on_cpu, close, valid), run)


# ---- torchrun --------------------------------------------------------------------------------


def torchrun(check: Check) -> SectionSpec:
    cuda = check.device == "cuda"
    backend = "nccl" if cuda else "gloo"
    path = f"torchrun --nproc-per-node 1 ({backend}{', train.sync_bn' if cuda else ''}): one unit"

    def run(runner: Runner, rows: dict[str, Row]) -> None:
        write_demo_data(check, runner)
        folder = check.work / "torchrun"
        launch = [PYTHON, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "1"]
        train = ["-m", "podium", "-v", "train", "--fold", "0", "--seed", "0"]
        train += [*check.demo_args(folder), "train.epochs=1"]
        done = runner.run([*launch, *train, *(["train.sync_bn=true"] if cuda else [])])
        unit = folder / "runs" / "digits" / Path(DEMO_CONFIG).stem / "fold0" / "seed0"
        result = json.loads((unit / "result.json").read_text())
        joined = f"joined ({backend})" in done.output
        row = rows[path]
        row.status = "passed" if joined else "failed"
        row.figures = {"best score": round(result["best_score"], 4), "s": round(done.seconds, 1)}
        row.detail = (
            f"the process group used {backend}; result.json written"
            if joined
            else f"no 'joined ({backend})' line: the unit trained without the {backend} group"
        )

    return SectionSpec("torchrun", "torchrun", (path,), run)


# ---- the half-precision bundle ---------------------------------------------------------------


def bundle(check: Check) -> SectionSpec:
    predicted = f"bundle --half predicted on {check.device}"
    against = "bundle --half against the fp32 bundle on the CPU"

    def run(runner: Runner, rows: dict[str, Row]) -> None:
        write_demo_data(check, runner)
        work = check.work / "bundle"
        # the demo section's device run (export trains nothing: without it, it says so)
        args = check.demo_args(check.work / "demo" / check.device)
        runner.run([*PODIUM, "-q", "export", *args, "--half", "--out", str(work / "half")])
        runner.run([*PODIUM, "-q", "export", *args, "--out", str(work / "fp32")])
        data = str(check.data / "digits")
        half = work / "predicted-half" / "submission.csv"
        done = runner.run(
            [*PODIUM, "-q", "predict", "--bundle", str(work / "half"), "--data", data]
            + ["--out", str(half), "--predictions", str(half.parent / "test.parquet")]
        )
        rows[predicted].status = "passed"
        rows[predicted].figures = {"s": round(done.seconds, 1)}
        rows[predicted].detail = "podium predict: fp16 weights, the device's autocast"
        fp32 = work / "predicted-fp32-cpu" / "submission.csv"
        runner.run(
            [*PODIUM, "-q", "predict", "--bundle", str(work / "fp32"), "--data", data]
            + ["--out", str(fp32), "--predictions", str(fp32.parent / "test.parquet")],
            {"CUDA_VISIBLE_DEVICES": ""},
        )
        largest, agree = compare_predictions(
            half.parent / "test.parquet", fp32.parent / "test.parquet"
        )
        row = rows[against]
        row.status = "passed" if largest <= PROBABILITY_TOLERANCE else "failed"
        row.figures = {"max |p difference|": largest, "tolerance": PROBABILITY_TOLERANCE}
        row.detail = f"the same class ranked first for {agree:.1%} of the test images"

    return SectionSpec("bundle", "bundle", (predicted, against), run)


def compare_predictions(a: Path, b: Path) -> tuple[float, float]:
    """The largest difference of a probability between two test.parquet files (matched by
    id), and the share of rows whose most probable class agrees."""
    import pandas as pd  # here, not at the top: the check's own process stays light

    left, right = pd.read_parquet(a).set_index("id"), pd.read_parquet(b).set_index("id")
    right = right.loc[left.index, left.columns]
    largest = float((left - right).abs().to_numpy().max())
    agree = float((left.to_numpy().argmax(1) == right.to_numpy().argmax(1)).mean())
    return largest, agree


# ---- the check -------------------------------------------------------------------------------


def sections(check: Check, models: list[str]) -> list[SectionSpec]:
    """In order of what matters most; the compiled throughput rows last, cheapest first."""
    out = [cuda_tests(check), *(throughput(check, m, compiled=False) for m in models)]
    out += [demo(check), torchrun(check), bundle(check)]
    by_cost = sorted(models, key=lambda m: int(m.split("@")[1].split(":")[0]))
    return out + [throughput(check, m, compiled=True) for m in by_cost]


def setup(check: Check, found: dict[str, str]) -> SectionSpec:
    """torch's version and the device's name, from a child process (this one imports no
    torch: a CUDA fault cannot take the report down); a CUDA check stops here without one."""
    path = f"torch sees the device ({check.device})"
    probe = (
        "import json, torch; cuda = torch.cuda.is_available(); print(json.dumps({'torch': "
        "torch.__version__, 'cuda': cuda, 'name': torch.cuda.get_device_name() if cuda else "
        "'cpu', 'cuda_version': torch.version.cuda}))"
    )

    def run(runner: Runner, rows: dict[str, Row]) -> None:
        info = json.loads(runner.run([PYTHON, "-c", probe]).output.strip().splitlines()[-1])
        cuda = check.device == "cuda"
        found["torch"] = info["torch"]
        found["device"] = f"cuda ({info['name']}, CUDA {info['cuda_version']})" if cuda else "cpu"
        ok = info["cuda"] or not cuda
        rows[path].status = "passed" if ok else "failed"
        rows[path].detail = f"torch {info['torch']}: {found['device'] if ok else 'no CUDA device'}"

    return SectionSpec("setup", "setup", (path,), run)


def child_env(device: str) -> dict[str, str]:
    """The commands' environment: podium from this checkout (ahead of any carried wheels on
    PYTHONPATH), unbuffered output, no albumentations update check; no GPU for a CPU check."""
    path = os.pathsep.join(p for p in (str(ROOT / "src"), os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "PYTHONPATH": path, "PYTHONUNBUFFERED": "1"}
    env["NO_ALBUMENTATIONS_UPDATE"] = "1"
    if device == "cpu":
        env["CUDA_VISIBLE_DEVICES"] = ""
    return env


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--device", required=True, choices=["cuda", "cpu"])
    p.add_argument(
        "--size", choices=list(PLANS), help="full (the GPU default), small (CPU default), tiny (CI)"
    )
    p.add_argument("--out", type=Path, required=True, help="folder for the report files")
    p.add_argument(
        "--work",
        type=Path,
        default=Path(tempfile.gettempdir()) / "podium-gpu-check",
        help="scratch folder: generated data (kept for the next check) and runs (redone)",
    )
    p.add_argument("--budget", type=float, help="seconds for the whole check (default: the size's)")
    p.add_argument("--sections", help=f"comma-separated groups to run: {', '.join(GROUPS)}")
    p.add_argument("--models", nargs="+", help="throughput models, name@size:batch")
    args = p.parse_args(argv)
    args.size = args.size or ("full" if args.device == "cuda" else "small")
    args.sections = args.sections.split(",") if args.sections else list(GROUPS)
    unknown = sorted(set(args.sections) - set(GROUPS))
    if unknown:
        p.error(f"--sections: unknown {', '.join(unknown)} (choose from {', '.join(GROUPS)})")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    plan = PLANS[args.size]
    check = Check(args.device, plan, args.work.resolve())
    for group in {"demo", "torchrun", "bundle"} & set(args.sections):  # redone, not skipped
        shutil.rmtree(check.work / group, ignore_errors=True)  # as fresh by podium's stages
    out = args.out.resolve()
    log = out / "gpu_check.log"
    log.unlink(missing_ok=True)
    budget = args.budget or plan.budget
    runner = Runner(budget, log, child_env(args.device), ROOT)
    t0, load = time.perf_counter(), os.getloadavg()[0]
    found = {"device": args.device, "torch": "?"}
    print(f"podium GPU check: --device {args.device} --size {args.size}, {budget:.0f}s", flush=True)
    rows: list[Row] = []
    for spec in [setup(check, found), *sections(check, args.models or list(plan.models))]:
        section_rows = {p: Row(spec.name, p) for p in spec.paths}
        if rows and rows[0].status != "passed":
            for row in section_rows.values():
                row.detail = "not started: the setup row failed"
        elif spec.group not in ("setup", *args.sections):
            for row in section_rows.values():
                row.status, row.detail = "skipped", "not selected (--sections)"
        elif spec.group == "compile" and not plan.compile:
            for row in section_rows.values():
                row.status = "skipped"
                row.detail = f"--size {args.size} does not compile (minutes of C++ builds on a CPU)"
        else:
            run_section(runner, section_rows, spec.run, plan.caps[spec.group], MIN_START)
        rows += section_rows.values()
        print(f"  {spec.name}: {counts(list(section_rows.values()))}", flush=True)
    header = {
        **found,
        "python": platform.python_version(),
        "cores": os.cpu_count(),
        "size": args.size,
        "budget": budget,
        "command": shlex.join(["python benchmarks/gpu_check.py", *(argv or sys.argv[1:])]),
        "seconds": time.perf_counter() - t0,
        "load_start": load,
        "load_end": os.getloadavg()[0],
    }
    write(out, header, rows, runner.done)
    print(f"{counts(rows)}: {out / 'gpu_check.md'}")
    return 1 if any(r.status in BAD for r in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
