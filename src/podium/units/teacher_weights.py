"""Which weights a teacher's fold-k models predict with when they teach fold k of a student
(pseudo-labels: `pseudo.teacher_checkpoint`; distillation: `train.distill.teacher_checkpoint`),
and whether the student stays leak-free.

A teacher's fold-k model never trained on fold k's rows, but its `best.pt` is the epoch that
scored best on fold k's labels, and early stopping stops on them: either way fold k's labels
choose the weights, and through them reach fold k's student, whose CV on fold k is then
optimistic (permuting fold 0's labels changed a student's fold-0 predictions through a `best`
teacher and never through a `last` one: `benchmarks/teacher_leak.py`). `last`, `swa` and
`snapshots` end a fixed schedule that no validation label steers. So a teacher predicts with
its own `train.checkpoint` when that is fixed, else with `swa` when it trained one, else with
`last`; `best` only when the user asks for it, which accepts the leak: the student is marked
leaky and cannot teach a later round unless that round accepts the leak too.
"""

from __future__ import annotations

from dataclasses import dataclass

from podium.artifacts import read_json
from podium.config import Config, ConfigError

FIXED_SCHEDULE = ("last", "swa", "snapshots")  # weights no validation label chose
ACCEPT_LEAK = "best"


class TeacherLeakWarning(UserWarning):
    """A teacher whose fold-k weights carry fold k's labels: the student's CV is optimistic."""


@dataclass(frozen=True)
class TeacherWeights:
    """The checkpoint a teacher's units predict with for its students, and whether fold k's
    labels stay out of fold k's student (`why` says how they get in otherwise)."""

    checkpoint: str
    leak_free: bool
    why: str = ""

    def note(self) -> str:
        """One line for reports: the weights and what they mean for the student's CV."""
        if self.leak_free:
            return f"{self.checkpoint} (a fixed schedule: leak-free)"
        return f"{self.checkpoint} ({self.why}: the student's CV is optimistic)"


def inherited_leak(teacher: Config) -> str | None:
    """Why the teacher's own fold-k weights already carry fold k's labels (it is the student of
    a leaky round), or None."""
    record = teacher.run_dir / "pseudo.json"
    if record.is_file() and not read_json(record).get("leak_free", True):
        return "it was trained on pseudo-labels that leak (its pseudo.json: leak_free: false)"
    distill = teacher.train.distill
    if distill is not None and distill.teacher_checkpoint == ACCEPT_LEAK:
        return "it was distilled from a teacher's best weights (train.distill.teacher_checkpoint: best)"
    return None


def teacher_weights(teacher: Config, asked: str | None, key: str, where: str) -> TeacherWeights:
    """The weights `teacher` (a CNN experiment) teaches with: `asked` (the value of `key`,
    e.g. `pseudo.teacher_checkpoint`), else the leak-free default. A choice that would leak
    without being asked for with `best` is a ConfigError naming `where` and the way out."""
    name, tc = teacher.name, teacher.train
    inherited = inherited_leak(teacher)
    if asked == ACCEPT_LEAK:
        why = inherited or "best.pt is the epoch chosen on fold k's labels"
        return TeacherWeights(ACCEPT_LEAK, leak_free=False, why=f"{why}; accepted by {key}: best")
    accept = f"or set {key}: best to accept the leak (the student is then marked leaky)"
    if inherited is not None:
        raise ConfigError(
            f"{where}: teacher {name!r} cannot teach leak-free: {inherited}, so its fold-k "
            f"models saw fold k's labels; retrain it leak-free, {accept}"
        )
    if tc.early_stopping_patience is not None:
        raise ConfigError(
            f"{where}: teacher {name!r} stops early on fold k's labels "
            "(train.early_stopping_patience), so every set of its fold-k weights was chosen on "
            f"them; retrain it without early stopping, {accept}"
        )
    default = tc.checkpoint if tc.checkpoint in FIXED_SCHEDULE else "swa" if tc.swa else "last"
    chosen = asked or default
    if chosen == "swa" and tc.swa is None:
        raise ConfigError(f"{where}: {key}: swa, but teacher {name!r} trains no SWA (train.swa)")
    if chosen == "snapshots" and not tc.snapshots:
        raise ConfigError(
            f"{where}: {key}: snapshots, but teacher {name!r} saves none (train.snapshots)"
        )
    return TeacherWeights(chosen, leak_free=True)
