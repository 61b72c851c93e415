"""`benchmarks/throughput.py --ddp`: fit timed again under DistributedDataParallel with one
process (gloo on the CPU), beside the plain run; the figure itself is a GPU's to judge."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import torch.distributed as dist

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "throughput.py"


def test_the_ddp_phase_runs_and_leaves_no_process_group(tmp_path, capsys):
    if str(SCRIPT.parent) not in sys.path:  # as when run: its sibling modules (timing.py)
        sys.path.insert(0, str(SCRIPT.parent))
    spec = importlib.util.spec_from_file_location("throughput_benchmark_ddp", SCRIPT)
    bench = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = bench  # dataclasses look their module up while being built
    spec.loader.exec_module(bench)
    argv = [
        "--device", "cpu", "--ddp",
        "--models", "test_convnext@32:16",
        "--images", "96", "--image-px", "40", "--test-images", "8",
        "--steps", "3", "--warmup-steps", "1",
        "--valid-images", "16", "--infer-images", "40", "--tta", "identity",
        "--cache-dir", str(tmp_path / "cache"),
    ]  # fmt: skip
    (result,) = bench.main(argv)
    assert "ddp N=1" in capsys.readouterr().out
    assert result["podium_ddp"]["images"] == result["podium"]["images"] == 3 * 16
    assert result["ddp_ratio"] > 0
    assert not dist.is_initialized()
