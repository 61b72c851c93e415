"""Many units on a device pool (`--devices 0,1`): fold x seed units trained in parallel, one
process per device, each process seeing only its device.

Each unit is an ordinary `podium train -c X --fold K --seed S` in a fresh process, started
with `CUDA_VISIBLE_DEVICES` set to its device (`cpu` entries train on the CPU: tests, or a
CPU box with cores to spare), its output in `runs/<comp>/<exp>/logs/fold{K}-seed{S}.log`.
Why processes and not threads: a unit owns its device, its CUDA context and its memory; a
crash (out of memory, a killed process) takes down that unit only. A failed unit is
reported and the others finish; the summary lists every unit: done, skipped (finished
already: its stamp is fresh, so nothing is launched) or failed with its log. A failed or
killed unit resumes from its last.pt when the command is run again.

The same pool runs one `podium tune` worker per device over one Optuna storage.
"""

from __future__ import annotations

import logging
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from podium.config import ConfigError
from podium.errors import ArtifactError
from podium.experiment import Experiment
from podium.units.stamps import unit_stamp
from podium.units.train import prepare

_log = logging.getLogger(__name__)


@dataclass
class Job:
    """One command of the pool: `argv` after `podium`, its log file, and `finished()`, asked
    before launching (a finished unit is skipped, not started)."""

    name: str
    argv: list[str]
    log: Path
    finished: Callable[[], bool] = field(default=lambda: False)


@dataclass
class Outcome:
    name: str
    status: str  # done | skipped | failed
    device: str
    log: Path
    seconds: float = 0.0
    returncode: int | None = None
    started: float = 0.0  # time.time() at launch


def parse_devices(text: str) -> list[str]:
    """`--devices 0,1` (CUDA device ids) or `cpu,cpu` (one CPU process per entry)."""
    devices = [d.strip() for d in text.split(",") if d.strip()]
    bad = [d for d in devices if not (d.isdigit() or d == "cpu")]
    if not devices or bad:
        raise ConfigError(
            f"--devices {text!r}: expected a comma-separated list of CUDA device ids or `cpu` "
            f"(e.g. 0,1 or cpu,cpu); not understood: {bad or [text]}"
        )
    return devices


def device_env(device: str) -> dict[str, str]:
    """A process sees its GPU alone (as cuda:0), or none: `train.device: auto` then picks
    it, or the CPU, and the unit's config (and so its fingerprint) is the same everywhere."""
    return {**os.environ, "CUDA_VISIBLE_DEVICES": "" if device == "cpu" else device}


def run_pool(jobs: Sequence[Job], devices: Sequence[str], what: str = "units") -> list[Outcome]:
    """Run `jobs` over `devices`, one at a time per device, in order; every job runs (or is
    skipped), whatever the others do. Returns an outcome per job, in the jobs' order."""
    todo: queue.Queue[tuple[int, Job]] = queue.Queue()
    for item in enumerate(jobs):
        todo.put(item)
    outcomes: dict[int, Outcome] = {}

    def worker(device: str) -> None:
        while True:
            try:
                i, job = todo.get_nowait()
            except queue.Empty:
                return
            outcomes[i] = _run_job(job, device)

    threads = [threading.Thread(target=worker, args=(d,), daemon=True) for d in devices]
    _log.info("%d %s over %d devices (%s)", len(jobs), what, len(devices), ",".join(devices))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [outcomes[i] for i in range(len(jobs))]


def _run_job(job: Job, device: str) -> Outcome:
    if job.finished():
        return Outcome(job.name, "skipped", device, job.log)
    job.log.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "podium", *job.argv]
    _log.info("  %s: started on device %s (log %s)", job.name, device, job.log)
    t0 = time.time()
    env = device_env(device)
    with open(job.log, "w") as log:
        log.write(f"CUDA_VISIBLE_DEVICES={env['CUDA_VISIBLE_DEVICES']} {' '.join(command)}\n")
        log.flush()
        code = subprocess.call(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    status = "done" if code == 0 else "failed"
    seconds = round(time.time() - t0, 1)
    _log.info("  %s: %s on device %s in %.0fs", job.name, status, device, seconds)
    return Outcome(job.name, status, device, job.log, seconds, code, t0)


def summary(outcomes: Sequence[Outcome]) -> str:
    """One line per job, then the counts."""
    lines = []
    for o in outcomes:
        where = f"device {o.device}, {o.seconds:.0f}s" if o.status != "skipped" else "finished"
        tail = f"  exit {o.returncode}, log {o.log}" if o.status == "failed" else ""
        lines.append(f"  {o.name:<24} {o.status:<8} ({where}){tail}")
    counts = {s: sum(o.status == s for o in outcomes) for s in ("done", "skipped", "failed")}
    lines.append("  " + ", ".join(f"{n} {s}" for s, n in counts.items()))
    return "\n".join(lines)


def check_outcomes(outcomes: Sequence[Outcome], what: str) -> None:
    """After the summary: a failed job fails the command, naming its log."""
    failed = [o for o in outcomes if o.status == "failed"]
    if failed:
        logs = ", ".join(f"{o.name}: {o.log}" for o in failed)
        raise ArtifactError(
            f"{len(failed)} of {len(outcomes)} {what} failed ({logs}); the others finished; "
            "re-run the same command to retry the failed ones (they resume from last.pt)"
        )


def _never() -> bool:
    return False


def unit_jobs(
    exp: Experiment,
    config_args: list[str],
    units: Sequence[tuple[int, int]],
    force: bool = False,
    extra_fingerprint: str | None = None,
) -> list[Job]:
    """`podium train <config_args> --fold K --seed S` per unit; a unit whose stamp is fresh
    (finished on today's inputs) is skipped unless `force`."""
    jobs = []
    for f, s in units:
        stamp = unit_stamp(exp, f, s, extra_fingerprint)
        argv = ["train", *config_args, "--fold", str(f), "--seed", str(s)]
        jobs.append(
            Job(
                f"{exp.cfg.name} fold {f} seed {s}",
                [*argv, "--force"] if force else argv,
                exp.run_dir / "logs" / f"fold{f}-seed{s}.log",
                _never if force else stamp.fresh,
            )
        )
    return jobs


def train_on_devices(
    exp: Experiment,
    config_args: list[str],
    devices: Sequence[str],
    force: bool = False,
    fold: int | None = None,
    seed: int | None = None,
    extra_fingerprint: str | None = None,
) -> list[Outcome]:
    """The units of `exp` (or the one fold / seed asked for) over `devices`. The run folder
    is prepared here first (`--force` on the whole run starts it over), so the units' own
    processes find it made; the summary is printed, and a failed unit fails the command
    after the others have finished."""
    prepare(exp, start_over=force and fold is None and seed is None)
    jobs = unit_jobs(exp, config_args, exp.units(fold, seed), force, extra_fingerprint)
    outcomes = run_pool(jobs, devices)
    print(f"train {exp.cfg.name} over devices {','.join(devices)}:\n{summary(outcomes)}")
    check_outcomes(outcomes, "units")
    return outcomes
