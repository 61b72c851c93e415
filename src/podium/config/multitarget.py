"""`competition.targets`: the target columns of a multitarget competition, several targets
per study each with its own kind (RSNA abdominal trauma 2023: bowel and extravasation binary,
kidney / liver / spleen healthy-low-high; RSNA lumbar spine 2024: 25 conditions x 3
severities), their classes, per-class weights, score groups and submission columns.

    competition:
      task: multitarget
      targets:                 # one entry per target column of train.csv, in this order
        bowel:  {kind: binary, classes: [healthy, injury], weights: [1, 2]}
        kidney: {kind: multiclass, classes: [healthy, low, high], weights: [1, 2, 4]}
        l1_l2:  {kind: ordinal, classes: [normal, moderate, severe], weights: [1, 2, 4],
                 group: spinal}
        ...

    kind      binary (two classes, the second the positive one), multiclass or ordinal
              (ordered classes; trained and scored as multiclass: see podium.tasks.multitarget)
    classes   the values of the column, in order (default: train.csv's, numbers numerically)
    weights   one sample weight per class, of the loss and the metric (default: all 1)
    group     targets of one group are pooled into one log-loss term (RSNA 2024's conditions)
    columns   class -> sample_submission column (default `<target>_<class>`; a binary target
              also takes one column named `<target>`: its positive class's probability)

Classes are written as strings: `[0, 1]` in YAML is `['0', '1']`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import field_validator, model_validator

from podium.config.section import Section

TargetKind = Literal["binary", "multiclass", "ordinal"]


class TargetSpec(Section):
    """One target column of a multitarget competition (see the module docstring)."""

    kind: TargetKind
    classes: list[str] | None = None
    weights: list[float] | None = None
    group: str | None = None
    columns: dict[str, str] | None = None

    @field_validator("classes", mode="before")
    @classmethod
    def _as_strings(cls, v: Any) -> Any:
        return [str(c) for c in v] if isinstance(v, list) else v

    @model_validator(mode="after")
    def _consistent(self) -> TargetSpec:
        classes = self.classes
        if classes is not None and (len(classes) < 2 or len(set(classes)) != len(classes)):
            raise ValueError(f"classes must be at least two distinct values, got {classes}")
        if classes is not None and self.kind == "binary" and len(classes) != 2:
            raise ValueError(f"a binary target has two classes, got {classes}")
        if self.weights is not None:
            if any(not w > 0 for w in self.weights):
                raise ValueError(f"weights must be positive, got {self.weights}")
            if classes is not None and len(self.weights) != len(classes):
                raise ValueError(
                    f"weights has {len(self.weights)} values for {len(classes)} classes {classes}"
                )
        if self.columns is not None and classes is not None:
            unknown = [c for c in self.columns if c not in classes]
            if unknown:
                raise ValueError(f"columns names {unknown}, not classes {classes}")
        return self


def check_targets(targets: dict[str, TargetSpec] | None, task: str) -> None:
    """`targets` is a multitarget task's, and one needs at least one (a ValueError)."""
    if task == "multitarget" and not targets:
        raise ValueError("a multitarget task needs `targets:` (one entry per target column)")
    if task != "multitarget" and targets is not None:
        raise ValueError(f"targets is for a multitarget task (task is {task!r})")
