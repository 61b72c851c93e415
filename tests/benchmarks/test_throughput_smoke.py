"""`benchmarks/throughput.py` end to end on the CPU with a tiny model and a few steps, so the
benchmark keeps working as the engine changes (the figures themselves are not checked)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import torch

from podium.artifacts import read_json

pytestmark = pytest.mark.processes  # a minute or more of several processes

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "throughput.py"


def load_benchmark():
    if str(SCRIPT.parent) not in sys.path:  # as when run: its sibling modules (timing.py)
        sys.path.insert(0, str(SCRIPT.parent))
    spec = importlib.util.spec_from_file_location("throughput_benchmark", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


def test_the_benchmark_measures_every_phase_and_reuses_its_data(tmp_path, capsys):
    bench = load_benchmark()
    argv = [
        "--device", "cpu",
        "--models", "test_convnext@32:16",
        "--images", "96", "--image-px", "40", "--test-images", "8",
        "--steps", "3", "--warmup-steps", "1",
        "--valid-images", "16", "--infer-images", "40", "--tta", "identity,hflip",
        "--cache-dir", str(tmp_path / "cache"),
        "--json", str(tmp_path / "figures.json"),
    ]  # fmt: skip
    (result,) = bench.main(argv)
    out = capsys.readouterr().out
    assert "wrote 104 JPEGs at 40 px" in out and "of the limit" in out
    assert result["model"] == "test_convnext@32" and result["steps"] == 3
    for phase in ("limit", "loader", "podium", "infer_limit", "infer"):
        assert result[phase]["images_per_second"] > 0, phase
        assert result[phase]["peak_gib"] > 0, phase
    assert result["limit"]["images"] == result["podium"]["images"] == 3 * 16  # one measured epoch
    assert result["loader"]["images"] == 3 * 16
    assert result["infer"]["images"] == 40 * 2  # every image once per view
    assert result["podium"]["extra"]["epoch_wall_seconds"] >= result["podium"]["seconds"]
    assert (
        0
        < result["ratio"]
        == result["podium"]["images_per_second"] / result["limit"]["images_per_second"]
    )
    assert result["cpu_ratio"] > 0  # the load-independent figure of a shared CPU
    saved = read_json(tmp_path / "figures.json")
    assert saved["device"] == "cpu" and saved["results"][0]["steps"] == 3

    # a second run reuses the generated competition, and sizes its epoch from the limit
    (again,) = bench.main([*argv[:-2], "--steps", "0", "--epoch-seconds", "0.5", "--epochs", "2"])
    out = capsys.readouterr().out
    assert "wrote" not in out and "of the limit" in out
    assert again["steps"] >= 10 and again["podium"]["images"] == 2 * again["steps"] * 16


def test_phases_can_be_left_out_but_the_limit_is_always_measured(tmp_path, capsys, monkeypatch):
    bench = load_benchmark()
    compiled = []  # the flag reaches the engine's step in both the limit and fit
    monkeypatch.setattr(torch, "compile", lambda module, **_: compiled.append(module) or module)
    argv = [
        "--device", "cpu", "--models", "test_convnext@32:16", "--compile",
        "--images", "48", "--image-px", "40", "--test-images", "4",
        "--steps", "2", "--warmup-steps", "0", "--phases", "podium",
        "--valid-images", "8", "--cache-dir", str(tmp_path / "cache"),
    ]  # fmt: skip
    (result,) = bench.main(argv)
    assert (
        len(compiled) == 2
        and result["compile"] is True
        and {"limit", "podium", "ratio"} <= set(result)
    )
    assert not {"loader", "infer", "infer_limit"} & set(result)
    assert "-" in capsys.readouterr().out.splitlines()[-2]  # the table marks what was left out
    with pytest.raises(SystemExit):
        bench.main([*argv, "--phases", "podium,warp"])
