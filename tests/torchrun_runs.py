"""Running podium under torchrun from a test: `torchrun(args)` starts
`python -m torch.distributed.run ARGS` with this checkout's sources and kills its ranks with
it past a timeout; `SCENARIOS` is the script that runs several `podium train --fold 0 --seed
0` commands in the same ranks and records, per rank, what each wrote and evaluated."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "tests/engine/torchrun_scenarios.py"


def torchrun(args: list[str], timeout: float = 240) -> tuple[int, str]:
    """`python -m torch.distributed.run ARGS` in a session of its own, so that a run past
    `timeout` is killed with its ranks (killing torchrun alone orphans them); its exit
    status and stderr."""
    path = os.pathsep.join(p for p in (str(ROOT / "src"), os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "PYTHONPATH": path, "OMP_NUM_THREADS": "1"}  # + carried wheels
    proc = subprocess.Popen(
        [sys.executable, "-m", "torch.distributed.run", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        _, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # torchrun and every rank: one process group
        _, stderr = proc.communicate()
        pytest.fail(f"torchrun still running after {timeout} s:\n{stderr[-3000:]}")
    return proc.returncode, stderr
