"""`podium board [-c CONFIG | --comp NAME] [--out FILE]`: the experiment board of a
competition as one self-contained HTML page (default `runs/<comp>/board.html`), written
atomically. It reads what the stages wrote and judges freshness by their stamps; it trains,
predicts and changes nothing else (podium.board)."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from podium.artifacts import atomic_write_text
from podium.board.collect import build_board
from podium.board.page import render_board
from podium.board.scope import Scope
from podium.errors import ArtifactError

_log = logging.getLogger(__name__)


def run(scope: Scope, out: Path | None = None) -> Path:
    t0 = time.time()
    if not scope.comp_dir.is_dir():
        raise ArtifactError(
            f"no runs of {scope.competition} in {scope.comp_dir}; train something first "
            f"(e.g. podium train -c configs/{scope.competition}/<exp>.yaml)"
        )
    out = Path(out) if out is not None else scope.comp_dir / "board.html"
    board = build_board(scope)
    atomic_write_text(out, render_board(board, out))
    stale = [e.name for e in board.experiments if e.freshness.state != "fresh"]
    print(
        f"board {scope.competition}: {len(board.experiments)} experiments "
        f"({len(stale)} not fresh{': ' + ', '.join(stale) if stale else ''}), "
        f"{len(board.submissions)} submissions, {len(board.studies)} tune studies "
        f"({time.time() - t0:.1f}s)\n  open: {out.resolve().as_uri()}"
    )
    return out
