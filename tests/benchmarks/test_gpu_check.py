"""`benchmarks/gpu_check.py` in its smallest CPU mode, as CI runs it: its report has a row for
every GPU path (the cuda tests skipped here), a section whose command fails is reported as
failed with its output while the others still run, and a command that hangs is stopped at
its time limit, its unfilled rows reported as timed out."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def load(name: str):
    if str(BENCHMARKS) not in sys.path:  # as when run: its sibling modules
        sys.path.insert(0, str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location(f"{name}_under_test", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


@pytest.mark.processes
def test_the_smallest_cpu_check_reports_every_gpu_path_and_a_failing_section(tmp_path):
    out = tmp_path / "report"
    argv = [
        sys.executable, str(BENCHMARKS / "gpu_check.py"), "--device", "cpu", "--size", "tiny",
        "--out", str(out), "--work", str(tmp_path / "work"),
        "--models", "test_convnext@32:16", "no_such_model@32:16",  # the second one fails
    ]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, timeout=900)
    assert done.returncode == 1, done.stdout + done.stderr  # a row failed
    report = json.loads((out / "gpu_check.json").read_text())
    rows = {r["path"]: r for r in report["rows"]}
    status = {path: r["status"] for path, r in rows.items()}

    assert report["rows"][0]["path"] == "torch sees the device (cpu)"
    assert status["torch sees the device (cpu)"] == "passed"
    cuda_tests = [p for p in rows if p.startswith("tests/")]
    assert {p.split("::")[0] for p in cuda_tests} >= {
        "tests/engine/test_step.py",  # AMP bf16/fp16 + grad scaler, channels_last, compile, EMA
        "tests/engine/test_trainer.py",
        "tests/engine/test_inputs.py",  # pinned-memory prefetch
        "tests/data/test_prefetch.py",
        "tests/engine/test_distributed.py",  # SyncBatchNorm under torchrun
        "tests/stages/test_export_half.py",  # a --half bundle
    }
    assert all(status[p] == "skipped" and rows[p]["detail"] for p in cuda_tests)  # no CUDA here

    model = "test_convnext@32"
    for path in ("training: podium vs limit", "loader alone", "inference alone"):
        assert status[f"{model} {path}"] == "measured", rows[f"{model} {path}"]
    training = rows[f"{model} training: podium vs limit"]["figures"]
    assert training["limit img/s"] > 0 and training["podium img/s"] > 0 and training["ratio"] > 0
    compiled = rows[f"{model} training with torch.compile: podium vs limit"]
    assert compiled["status"] == "skipped" and "does not compile" in compiled["detail"]

    assert status["demo chain on cpu"] == status["demo submission valid"] == "passed"
    assert rows["demo chain on cpu"]["figures"]["CV"] > 0.5
    assert status["demo chain on the CPU (reference)"] == "skipped"  # the device is the CPU
    assert status["demo CV close to the CPU's"] == "skipped"
    assert status["torchrun --nproc-per-node 1 (gloo): one unit"] == "passed"
    assert status["bundle --half predicted on cpu"] == "passed"
    against = rows["bundle --half against the fp32 bundle on the CPU"]
    assert against["status"] == "passed" and against["figures"]["max |p difference|"] < 0.02

    # the failing model: its rows failed with the command, the sections after it still ran
    broken = [p for p in rows if p.startswith("no_such_model@32 ") and "compile" not in p]
    assert len(broken) == 3 and all(status[p] == "failed" for p in broken)
    assert "throughput.py" in rows[broken[0]]["detail"]
    assert set(status.values()) == {"measured", "passed", "skipped", "failed"}
    page = (out / "gpu_check.md").read_text()
    assert "## Commands that failed or timed out" in page and "no_such_model" in page
    assert "unknown timm model 'no_such_model'" in page  # the command's own output's tail
    assert "$ " in (out / "gpu_check.log").read_text()


def test_a_hanging_command_is_stopped_and_its_rows_say_timed_out(tmp_path):
    runs = load("gpu_check_runs")
    runner = runs.Runner(budget=60, log=tmp_path / "log", env={}, cwd=tmp_path)
    rows = {p: runs.Row("s", p) for p in ("first", "second")}
    # a child of the command holds its output open: it must be stopped with the command
    hang = "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); time.sleep(60)"

    def section(runner, rows):
        runner.run([sys.executable, "-c", "print('ready')"])
        rows["first"].status = "passed"
        runner.run([sys.executable, "-c", hang])

    t0 = time.perf_counter()
    runs.run_section(runner, rows, section, cap=3, min_start=1)
    assert time.perf_counter() - t0 < 30  # the child did not keep the section waiting
    assert rows["first"].status == "passed"
    assert rows["second"].status == "timed out" and "timed out after" in rows["second"].detail
    assert [d.status for d in runner.done] == ["passed", "timed out"]
    assert "ready" in runner.done[0].output


def test_a_section_is_not_started_without_enough_budget(tmp_path):
    runs = load("gpu_check_runs")
    runner = runs.Runner(budget=5, log=tmp_path / "log", env={}, cwd=tmp_path)
    rows = {"only": runs.Row("s", "only")}
    runs.run_section(runner, rows, lambda r, rows: pytest.fail("started"), cap=60, min_start=30)
    assert rows["only"].status == "not run" and "time budget" in rows["only"].detail
