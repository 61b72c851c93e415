"""The names that become folders: an experiment's and a competition's name is one plain folder
name under runs/ (so `name: ../other` cannot write, or `--force` delete, outside
runs/<comp>/), and an experiment may not take the name of what podium itself keeps there."""

from __future__ import annotations

import re

_FOLDER_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")
# what podium itself keeps in runs/<comp>/ beside the experiments' folders
RESERVED_RUN_NAMES = ("cache", "ensemble", "folds.csv", "optuna.db", "optuna.journal")


def check_folder_name(value: str, what: str) -> str:
    """`value` if it is one plain folder name, else a ValueError naming `what` it names."""
    if not _FOLDER_NAME.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a valid {what} name (a plain folder name: letters, digits, '-', "
            "'_', '.'; no separators, not '.' or '..', no leading '.')"
        )
    return value


def check_run_name(name: str, competition: str, run_folder: str) -> None:
    """A run kept directly in runs/<comp>/ (its kind's `run_folder` is "") may not be named
    after podium's own files there; a run kept in a subfolder (ensembles) may."""
    if not run_folder and name in RESERVED_RUN_NAMES:
        raise ValueError(
            f"name {name!r} is taken by podium's own runs/{competition}/{name} "
            f"(reserved: {', '.join(RESERVED_RUN_NAMES)}); choose another name"
        )
