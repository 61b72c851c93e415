"""The architecture's contracts that a grep can check: class probabilities are assumed only
behind the Task seam (and in the metrics), and modules stay small. The import layers are
checked by import-linter in `make lint` (pyproject.toml [tool.importlinter])."""

from __future__ import annotations

import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "podium"
PROBABILITY_CODE = re.compile(r"\bsoftmax\(|\.argmax\(|np\.argmax\(|torch\.argmax\(")
ALLOWED = ("tasks/", "metrics/")
MAX_LINES = 330  # "about 300": a module past this wants splitting


def python_files() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def test_no_code_outside_the_task_seam_assumes_class_probabilities():
    offenders = []
    for path in python_files():
        rel = path.relative_to(SRC).as_posix()
        if rel.startswith(ALLOWED):
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            if PROBABILITY_CODE.search(code):
                offenders.append(f"{rel}:{n}: {line.strip()}")
    assert not offenders, "softmax/argmax outside tasks/ and metrics:\n" + "\n".join(offenders)


def test_modules_stay_small():
    big = {
        p.relative_to(SRC).as_posix(): n
        for p in python_files()
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert not big, f"modules over {MAX_LINES} lines: {big}"
