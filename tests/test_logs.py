"""Warnings reach the user: `podium` prints each as one `warning: ...` line on stderr (once
per distinct message, no file name or source line), where Python's logging capture used to
drop them. Checked in a fresh interpreter, as the CLI sets logging up."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = """
import warnings
from podium.logs import setup_logging
setup_logging(-1)  # -q: warnings still show
for _ in range(3):
    warnings.warn("the same thing, said three times")
warnings.warn("a library's own notice", FutureWarning)
print("done")
"""


def test_warnings_print_one_readable_line_each_on_stderr():
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout == "done\n"
    lines = done.stderr.splitlines()
    assert lines == [
        "warning: the same thing, said three times (UserWarning from <string>:6)",
        "warning: a library's own notice (FutureWarning from <string>:7)",
    ], done.stderr
