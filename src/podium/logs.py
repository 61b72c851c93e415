"""Diagnostics through `logging`: every module has `_log = logging.getLogger(__name__)`; the
CLI sets the level once (`-q`: warnings only, default: progress messages, `-v`: debug).
Progress bars stay with tqdm; results a user asked for (a score table) are still printed.

Python warnings (podium's own, such as `PseudoLeakWarning`, and libraries') go the same way:
one readable `warning: ...` line on stderr per distinct message. `logging.captureWarnings`
is not used: it sends them to the `py.warnings` logger, which has no handler here, so Python
gives it a NullHandler and every warning vanished."""

from __future__ import annotations

import logging
import sys
import warnings
from pathlib import Path
from typing import Any, TextIO

WARNINGS_LOGGER = "podium.warnings"


def setup_logging(verbosity: int = 0) -> None:
    """verbosity -1 = quiet (warnings), 0 = info, 1+ = debug. Messages are plain lines, as
    podium printed them before; warnings and errors say so."""
    level = logging.WARNING if verbosity < 0 else logging.INFO if verbosity == 0 else logging.DEBUG
    handler = _StreamsHandler()
    handler.setFormatter(_PlainFormatter())
    root = logging.getLogger("podium")
    root.handlers[:] = [handler]
    root.setLevel(level)
    route_warnings()


def route_warnings() -> None:
    """Show every warning issued from now on as one `warning: <message> (<Category>)` line
    through the podium logger (stderr), once per distinct (category, message): no file
    name, source line or traceback, which a user cannot act on."""
    logging.captureWarnings(False)
    seen: set[tuple[type, str]] = set()
    log = logging.getLogger(WARNINGS_LOGGER)

    def show(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        if file is not None:  # a caller that names a stream gets Python's own format there
            file.write(warnings.formatwarning(message, category, filename, lineno, line))
            return
        key = (category, str(message))
        if key in seen:
            return
        seen.add(key)
        log.warning("%s", describe_warning(message, category, filename, lineno))

    warnings.showwarning = show


def describe_warning(message: Any, category: type[Warning], filename: str, lineno: int) -> str:
    """The message and its category; a library's warning also says where it came from."""
    text = " ".join(str(message).split())
    podium_dir = Path(__file__).resolve().parent
    try:
        Path(filename).resolve().relative_to(podium_dir)
        return f"{text} ({category.__name__})"
    except ValueError:
        where = "/".join(Path(filename).parts[-2:])
        return f"{text} ({category.__name__} from {where}:{lineno})"


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
