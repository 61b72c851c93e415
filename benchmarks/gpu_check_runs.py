"""Running a check's commands so that one failure or hang cannot lose the report: every
command runs in its own process group (a DataLoader's workers and torchrun's ranks included)
with a timeout, its output appended to one log, and the whole check keeps to a time budget.

A section (gpu_check.py) is a function that runs commands through a `Runner` and fills the
rows it promised; whatever it leaves unfilled when a command fails, times out or raises is
filled by `run_section` with that failure, so the report always has every row.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# what a row can say: the check held; a figure was taken (no pass mark); the check or its
# command failed; it ran out of time; it was not applicable here; it was not started
STATUSES = ("passed", "measured", "failed", "timed out", "skipped", "not run")
BAD = ("failed", "timed out", "not run")


@dataclass
class Row:
    """One GPU path's line in the report."""

    section: str
    path: str
    status: str = "not run"
    detail: str = ""
    figures: dict[str, Any] = field(default_factory=dict)


@dataclass
class Done:
    """A finished (or stopped) command: how it ended, its wall seconds and its output."""

    argv: list[str]
    status: str  # "passed", "failed" or "timed out"
    returncode: int | None
    seconds: float
    output: str

    @property
    def ok(self) -> bool:
        return self.status == "passed"

    @property
    def tail(self) -> str:
        return "".join(self.output.splitlines(keepends=True)[-30:])

    def summary(self) -> str:
        how = f"exit {self.returncode}" if self.status == "failed" else self.status
        return f"{how} after {self.seconds:.0f}s: {' '.join(self.argv)}"


class CommandFailed(Exception):
    """A section's command did not succeed; the section's unfilled rows get its status."""

    def __init__(self, done: Done) -> None:
        super().__init__(done.summary())
        self.done = done


def run_command(
    argv: Sequence[str], timeout: float, log: Path, env: dict[str, str], cwd: Path
) -> Done:
    """Run `argv` in a new session, its output appended to `log`; past `timeout` seconds the
    whole process group is killed (children of children too)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        out.write(f"\n$ {' '.join(argv)}\n".encode())
        out.flush()
        start = out.tell()
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            list(argv),
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
        try:
            returncode: int | None = proc.wait(timeout=max(1.0, timeout))
            status = "passed" if returncode == 0 else "failed"
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):  # it ended meanwhile
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            returncode, status = None, "timed out"
        seconds = time.perf_counter() - t0
    with log.open("rb") as text:
        text.seek(start)
        output = text.read().decode(errors="replace")
    return Done(list(argv), status, returncode, seconds, output)


class Runner:
    """Runs commands for the sections within `budget` seconds in all (from construction), each
    section within its own `cap`; logs every command to `log`."""

    def __init__(self, budget: float, log: Path, env: dict[str, str], cwd: Path) -> None:
        self.deadline = time.perf_counter() + budget
        self.log, self.env, self.cwd = log, env, cwd
        self.section_deadline = self.deadline
        self.done: list[Done] = []

    def left(self) -> float:
        return self.deadline - time.perf_counter()

    def run(
        self, argv: Sequence[str], env: dict[str, str] | None = None, check: bool = True
    ) -> Done:
        """Run one command within the section's time (`env` added to the runner's); with
        `check`, raise CommandFailed unless it succeeds."""
        timeout = self.section_deadline - time.perf_counter()
        done = run_command(argv, timeout, self.log, {**self.env, **(env or {})}, self.cwd)
        self.done.append(done)
        if check and not done.ok:
            self.fail(done)
        return done

    def fail(self, done: Done) -> None:
        """End the section: its rows not filled yet get `done`'s status and summary."""
        raise CommandFailed(done)


Section = Callable[[Runner, dict[str, Row]], None]


def run_section(
    runner: Runner, rows: dict[str, Row], section: Section, cap: float, min_start: float
) -> None:
    """Run `section`, which fills `rows` (keyed by path). Rows it leaves unfilled get the
    reason: the command that failed or timed out, the exception it raised, or the budget
    when fewer than `min_start` seconds were left to start it."""
    if runner.left() < min_start:
        for row in rows.values():
            row.detail = f"not started: {runner.left():.0f}s of the time budget were left"
        return
    runner.section_deadline = time.perf_counter() + min(cap, runner.left())
    try:
        section(runner, rows)
        status, detail = "failed", "its section finished without reporting it"
    except CommandFailed as e:
        status, detail = e.done.status, e.done.summary()
    except Exception as e:  # a section's own reading of the results: report it, go on
        status, detail = "failed", f"{type(e).__name__}: {e}"
    finally:
        runner.section_deadline = runner.deadline
    for row in rows.values():
        if row.status == "not run":
            row.status, row.detail = status, detail
