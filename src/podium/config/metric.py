"""`competition.metric` as a user's plug-in: which function, its direction, what it reads.

    competition:
      metric: {function: metrics/pauc.py:score, direction: maximize, needs: probabilities}

The function itself is loaded by the task (`podium.metrics.plugin`); here the reference is
checked and resolved when the config is read: a file path is relative to the folder of the
config file given on the command line, and the file's content hash (`sha256`, filled in by
podium) is part of the competition section, so every artifact scored with the metric goes
stale when the file changes.
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path
from typing import Any, Literal

from pydantic import PrivateAttr, field_validator

from podium.config.section import Section


class MetricSpec(Section):
    function: str  # "path/to/file.py:name" or "package.module:name"
    direction: Literal["maximize", "minimize"]
    needs: Literal["probabilities", "decisions", "values"]
    name: str | None = None  # how reports name it (default: the function's name)
    kwargs: dict[str, Any] = {}  # extra keyword arguments of the function
    sha256: str | None = None  # filled in by podium: the code's content hash
    _base_dir: Path | None = PrivateAttr(None)

    @field_validator("function")
    @classmethod
    def _reference(cls, v: str) -> str:
        where, sep, name = v.rpartition(":")
        if not sep or not where or not name.isidentifier():
            raise ValueError(
                f"{v!r} is not 'path/to/file.py:function' or 'package.module:function'"
            )
        return v

    @property
    def base_dir(self) -> Path | None:
        """The folder a relative file path is read from (the config file's)."""
        return self._base_dir

    def file(self) -> Path | None:
        """The metric's source file: the path given, or the module's file; None if a module
        cannot be found without importing it."""
        where = self.function.rpartition(":")[0]
        if where.endswith(".py"):
            path = Path(where)
            return path if path.is_absolute() or self._base_dir is None else self._base_dir / path
        try:
            spec = importlib.util.find_spec(where)
        except (ImportError, ValueError):
            return None
        return Path(spec.origin) if spec is not None and spec.origin else None

    def resolve(self, base_dir: Path) -> None:
        """Read file paths from `base_dir` and record the code's hash (a missing file is a
        ValueError naming it)."""
        self._base_dir = base_dir
        path = self.file()
        if self.function.rpartition(":")[0].endswith(".py") and (
            path is None or not path.is_file()
        ):
            raise ValueError(f"competition.metric.function: {path} not found ({self.function!r})")
        if path is not None and path.is_file():
            self.sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
