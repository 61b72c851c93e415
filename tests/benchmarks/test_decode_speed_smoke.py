"""`benchmarks/decode_speed.py` end to end on a few tiny files per format, so the benchmark
keeps working as the readers change (the figures themselves are not checked)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "decode_speed.py"


def test_every_reader_is_timed(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("decode_speed_benchmark", SCRIPT)
    bench = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = bench
    spec.loader.exec_module(bench)
    rows = bench.main(
        ["--n", "3", "--size", "64", "--out", "32", "--distinct", "1", "--dir", str(tmp_path)]
        + ["--digests"]
    )
    assert [r["format"] for r in rows] == list(bench.writers())
    assert all(r["single"] > 0 and r["pool"] > 0 for r in rows)
    assert all(r["xxh3"] > 0 and r["cold"] > 0 and r["warm"] > 0 for r in rows)
    assert "dicom_rle" in capsys.readouterr().out
