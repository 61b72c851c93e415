"""Diagnostics through `logging`: every module has `_log = logging.getLogger(__name__)`; the
CLI sets the level once (`-q`: warnings only, default: progress messages, `-v`: debug).
Progress bars stay with tqdm; results a user asked for (a score table) are still printed."""

from __future__ import annotations

import logging
import sys


def setup_logging(verbosity: int = 0) -> None:
    """verbosity -1 = quiet (warnings), 0 = info, 1+ = debug. Messages are plain lines, as
    podium printed them before; warnings and errors say so."""
    level = logging.WARNING if verbosity < 0 else logging.INFO if verbosity == 0 else logging.DEBUG
    handler = _StreamsHandler()
    handler.setFormatter(_PlainFormatter())
    root = logging.getLogger("podium")
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.captureWarnings(True)


class _StreamsHandler(logging.StreamHandler):
    """Progress messages to stdout (where podium's output always went), warnings and errors
    to stderr, so a failing command's stderr is its error alone. Resolves the streams at
    each message (a test's capture, a notebook's stream), not when logging was set up."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr if record.levelno >= logging.WARNING else sys.stdout
        super().emit(record)


class _PlainFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage()
        if record.levelno >= logging.WARNING:
            text = f"{record.levelname.lower()}: {text}"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text
