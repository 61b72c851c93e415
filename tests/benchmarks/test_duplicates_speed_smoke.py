"""`benchmarks/duplicates_speed.py` end to end at a tiny scale, so it keeps working as
`podium.data.duplicates` changes (the figures themselves are not checked)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "duplicates_speed.py"


def test_hashing_and_comparing_are_timed(capsys):
    spec = importlib.util.spec_from_file_location("duplicates_speed_benchmark", SCRIPT)
    bench = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = bench
    spec.loader.exec_module(bench)
    row = bench.main(["--rows", "20", "--size", "32", "--external", "50", "--competition", "300"])
    assert row["hash_rows_per_s"] > 0 and row["pairs_per_s"] > 0
    assert "external x" in capsys.readouterr().out
