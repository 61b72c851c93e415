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

Workers die with the command (no orphans training on): each worker leads its own process
group, so that ending it ends what it started too (DataLoader workers), and on Linux asks
the kernel (prctl PR_SET_PDEATHSIG) to SIGKILL it the moment its parent dies, however the
parent dies (SIGKILL included). An interrupted parent (Ctrl-C, SIGTERM) ends every
worker's group itself. A killed worker leaves its unit half-written (last.pt, no stamp):
the next run resumes it, and skips the units that finished. macOS has no prctl: there a
parent killed with SIGKILL leaves its workers running to the end of their unit (a tune
worker: its trials); `kill -- -PID` ends one, with the PIDs the pool logged.

The same pool runs one `podium tune` worker per device over one Optuna storage.
"""

from __future__ import annotations

import ctypes
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

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


def cuda_device_count() -> int:
    """The CUDA devices this process sees (what `--devices` ids are checked against)."""
    import torch  # local: `--devices cpu,cpu` needs no CUDA query

    return torch.cuda.device_count()


def check_devices(devices: Sequence[str]) -> None:
    """Every CUDA id of `--devices` names a device of this machine: a unit sent to a missing
    GPU would otherwise train on the CPU and report 'done (device 7)'."""
    ids = [d for d in devices if d != "cpu"]
    if not ids:
        return
    count = cuda_device_count()
    missing = [d for d in ids if int(d) >= count]
    if missing:
        have = f"CUDA devices 0..{count - 1}" if count else "no CUDA device"
        raise ConfigError(
            f"--devices {','.join(devices)}: this machine has {have}; device(s) "
            f"{','.join(missing)} do not exist (use cpu entries to train on the CPU)"
        )


def device_env(device: str, cpu_workers: int = 1) -> dict[str, str]:
    """A process sees its GPU alone (as cuda:0), or none: `train.device: auto` then picks
    it, or the CPU, and the unit's config (and so its fingerprint) is the same everywhere.
    A `cpu` worker gets its share of the cores as its threads (OMP_NUM_THREADS, unless the
    user set it): two workers of all the cores each run several times slower than one."""
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "" if device == "cpu" else device}
    if device == "cpu" and "OMP_NUM_THREADS" not in os.environ:
        env["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // max(1, cpu_workers)))
    return env


def run_pool(jobs: Sequence[Job], devices: Sequence[str], what: str = "units") -> list[Outcome]:
    """Run `jobs` over `devices`, one at a time per device, in order; every job runs (or is
    skipped), whatever the others do. Returns an outcome per job, in the jobs' order. If the
    pool is interrupted (Ctrl-C, SIGTERM), its running workers are ended before it raises."""
    check_devices(devices)
    todo: queue.Queue[tuple[int, Job]] = queue.Queue()
    for item in enumerate(jobs):
        todo.put(item)
    outcomes: dict[int, Outcome] = {}
    workers = _Workers()
    cpu_workers = sum(d == "cpu" for d in devices)

    def worker(device: str) -> None:
        while not workers.stopping:
            try:
                i, job = todo.get_nowait()
            except queue.Empty:
                return
            outcomes[i] = _run_job(job, device, workers, cpu_workers)

    threads = [threading.Thread(target=worker, args=(d,), daemon=True) for d in devices]
    _log.info("%d %s over %d devices (%s)", len(jobs), what, len(devices), ",".join(devices))
    with workers.ended_if_interrupted():
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    return [outcomes[i] for i in range(len(jobs))]


def _run_job(job: Job, device: str, workers: _Workers, cpu_workers: int) -> Outcome:
    if job.finished():
        return Outcome(job.name, "skipped", device, job.log)
    job.log.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "podium", *job.argv]
    t0 = time.time()
    env = device_env(device, cpu_workers)
    shown = f"CUDA_VISIBLE_DEVICES={env['CUDA_VISIBLE_DEVICES']}"
    if device == "cpu":
        shown += f" OMP_NUM_THREADS={env.get('OMP_NUM_THREADS', '')}"
    with open(job.log, "w") as log:
        log.write(f"{shown} {' '.join(command)}\n")
        log.flush()
        proc = workers.start(command, env, log)
        if proc is None:  # the pool is being interrupted
            return Outcome(job.name, "failed", device, job.log, 0.0, None, t0)
        _log.info(
            "  %s: started on device %s, pid %d (log %s)", job.name, device, proc.pid, job.log
        )
        code = workers.wait(proc)
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
    check_devices(devices)  # before prepare: `--force` removes nothing for a missing GPU
    prepare(exp, start_over=force and fold is None and seed is None)
    jobs = unit_jobs(exp, config_args, exp.units(fold, seed), force, extra_fingerprint)
    outcomes = run_pool(jobs, devices)
    print(f"train {exp.cfg.name} over devices {','.join(devices)}:\n{summary(outcomes)}")
    check_outcomes(outcomes, "units")
    return outcomes


# ---- workers that die with their parent ----------------------------------------------------

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
# resolved here, in the parent: the forked child only calls it before exec
_prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None


def _worker_setup(parent: int) -> Callable[[], None]:
    """The `preexec_fn` of a worker (runs in the child between fork and exec): its own
    process group, and on Linux SIGKILL when the parent dies. The death signal follows the
    thread that forked the child: the pool's threads wait for their worker, so they outlive
    it. A parent that died before the request was made is seen by the pid check."""

    def setup() -> None:
        os.setpgid(0, 0)
        if _prctl is not None:
            _prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL))
            if os.getppid() != parent:
                os._exit(1)

    return setup


class _Workers:
    """The pool's running worker processes, so that an interrupted pool ends them (each
    with its process group) instead of leaving them training."""

    def __init__(self) -> None:
        self._running: set[subprocess.Popen] = set()
        self._lock = threading.Lock()
        self.stopping = False

    def start(
        self, command: list[str], env: dict[str, str], log: IO[str]
    ) -> subprocess.Popen | None:
        with self._lock:
            if self.stopping:
                return None
            proc = subprocess.Popen(
                command,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_worker_setup(os.getpid()),
            )
            self._running.add(proc)
        return proc

    def wait(self, proc: subprocess.Popen) -> int:
        code = proc.wait()
        with self._lock:
            self._running.discard(proc)
        return code

    @contextmanager
    def ended_if_interrupted(self) -> Iterator[None]:
        """Within: SIGTERM interrupts the pool like Ctrl-C (main thread only: Python sets
        signal handlers there); on any exception the running workers are ended."""
        main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGTERM, _interrupt) if main else None
        try:
            yield
        except BaseException:
            self.end_all()
            raise
        finally:
            if main:
                signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)

    def end_all(self, grace: float = 10.0) -> None:
        """SIGINT to each worker's process group (a worker stops as on Ctrl-C), then
        SIGKILL to the groups still there after `grace` seconds."""
        with self._lock:
            self.stopping = True
            running = list(self._running)
        for proc in running:
            _signal_group(proc, signal.SIGINT)
        deadline = time.time() + grace
        for proc in running:
            with suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.0, deadline - time.time()))
            _signal_group(proc, signal.SIGKILL)  # its group may outlive it
            proc.wait()


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    with suppress(ProcessLookupError, PermissionError):  # the group is gone
        os.killpg(proc.pid, sig)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")
