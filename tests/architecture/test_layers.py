"""The architecture's contracts that a grep can check: class probabilities are assumed only
behind the Task seam (and in the metrics), and each module names the one concern it owns.
The import layers are checked by import-linter in `make lint` (pyproject.toml
[tool.importlinter])."""

from __future__ import annotations

import ast
import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "podium"
PROBABILITY_CODE = re.compile(r"\bsoftmax\(|\.argmax\(|np\.argmax\(|torch\.argmax\(")
# series/heads.py: a softmax over slices (attention weights), not over classes
ALLOWED = ("tasks/", "metrics/", "series/heads.py")
# size is a smell, not the rule (a module is split by concern, never to pass a line count):
# this backstop only catches a module that has plainly outgrown one concern
MAX_LINES = 500
CONCERN_WORDS = 6  # a docstring's first paragraph that names a concern is at least this long


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


def test_every_module_names_its_concern():
    unnamed = []
    for path in python_files():
        doc = ast.get_docstring(ast.parse(path.read_text())) or ""
        if len(doc.split("\n\n")[0].split()) < CONCERN_WORDS:
            unnamed.append(path.relative_to(SRC).as_posix())
    assert not unnamed, f"modules whose docstring does not name their concern: {unnamed}"


def test_no_module_has_plainly_outgrown_one_concern():
    big = {
        p.relative_to(SRC).as_posix(): n
        for p in python_files()
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert not big, f"modules over {MAX_LINES} lines (split by concern): {big}"
