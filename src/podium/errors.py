"""The three kinds of user error, at the bottom of the layers so that any module can raise
them and the CLI can print any of them as one line (exit 2) instead of a traceback.

- `ConfigError`: a config file, key or override is wrong.
- `DataError`: the competition's files break the contract (names file, row and column).
- `ArtifactError`: an artifact is missing, stale, locked, or made under other folds or data.
- `DivergedError`: training produced a non-finite loss; the unit stops rather than go on
  with NaN weights.
"""

from __future__ import annotations


class ConfigError(ValueError):
    """A config file or override is wrong; the message names the file and the key."""


class DataError(ValueError):
    """The competition's files break the contract; the message names file, row and column."""


class ArtifactError(RuntimeError):
    """An artifact is missing, stale, locked, or was made under different folds or data."""


class LockedError(ArtifactError):
    """Another live process holds the lock of what this one would write."""


class DivergedError(RuntimeError):
    """Training produced a non-finite loss (and, with fp16's loss scaling, broken weights)."""


USER_ERRORS: tuple[type[Exception], ...] = (ConfigError, DataError, ArtifactError, DivergedError)
