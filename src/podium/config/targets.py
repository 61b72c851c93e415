"""The competition's target keys, checked by the schema's validator: the keys only a
regression has (several targets, clipping), the keys only an ordinal task has (grades, its
head), and the target column names. What a task defaults to (its metric and loss) belongs to
the task (`podium.tasks`): a config that names none leaves them None."""

from __future__ import annotations

from typing import Any

from podium.config.multitarget import check_targets

REGRESSION_ONLY = ("target_columns", "clip")
ORDINAL_ONLY = ("grades", "ordinal_head")
SEGMENTATION_ONLY = ("rle", "train_masks", "mask_layout", "rle_rows")


def resolve_targets(competition: Any) -> Any:
    """Several targets and clipping are regression's alone (multilabel may name 0/1 target
    columns); grades and the head are an ordinal task's; `target_columns` are distinct and
    non-empty (a ValueError otherwise). `competition` is a CompetitionConfig (its validator
    calls this)."""
    c = competition
    if c.task != "regression":
        for key in REGRESSION_ONLY:
            if c.task == "multilabel" and key == "target_columns":
                continue  # one 0/1 column per label
            if key in c.model_fields_set and getattr(c, key):
                raise ValueError(f"{key} is for a regression task (task is {c.task!r})")
    if c.task == "ordinal":
        if c.grades is not None and (len(set(c.grades)) != len(c.grades) or len(c.grades) < 2):
            raise ValueError(f"grades must be at least two distinct integers, got {c.grades}")
    else:
        for key in ORDINAL_ONLY:
            if key in c.model_fields_set and getattr(c, key) != type(c).model_fields[key].default:
                raise ValueError(f"{key} is for an ordinal task (task is {c.task!r})")
    if c.task != "segmentation":
        for key in SEGMENTATION_ONLY:
            if key in c.model_fields_set and getattr(c, key) != type(c).model_fields[key].default:
                raise ValueError(f"{key} is for a segmentation task (task is {c.task!r})")
    if c.task == "segmentation" and c.rle_rows is not None:
        if c.train_masks:
            raise ValueError("rle_rows and train_masks are two sources of masks; keep one")
        if not c.classes:
            raise ValueError("rle_rows needs classes: the class values of its rows, in order")
    check_targets(c.targets, c.task)
    if c.task == "multitarget" and "submission_format" not in c.model_fields_set:
        c.__dict__["submission_format"] = "proba"  # probabilities; not setattr (revalidates)
    names = c.target_columns
    if names is not None and (not names or len(set(names)) != len(names) or "" in names):
        raise ValueError(f"target_columns must be distinct and non-empty, got {names}")
    return c


def target_names(competition: Any) -> list[str]:
    """The target column(s) of train.csv: `target_columns`, else `[target_column]`."""
    c = competition
    if c.task == "multitarget" and c.targets:
        return list(c.targets)  # one column per target, in the config's order
    if c.task == "segmentation" and c.train_masks:
        return []  # masks are files; the run-length column is sample_submission's alone
    if c.task == "segmentation" and c.rle_rows is not None and len(c.classes) > 1:
        return list(c.classes)  # long rows are read as one run-length column per class
    return list(c.target_columns) if c.target_columns else [c.target_column]
