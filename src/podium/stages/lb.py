"""`podium lb add SUBMISSION --public X [--private Y]` and `podium lb import FILE`: record the
leaderboard scores of submissions, so the board can set them against their CV.

`add` records one file's scores; `import` reads the CSV the Kaggle CLI prints
(`kaggle competitions submissions -c COMP -v > lb.csv`) and records every row whose
`fileName` is one of the competition's submission files, listing the rows it could not match
and those without a score yet. Both write `<submissions>/<comp>-leaderboard.json` (podium.board.
leaderboard); neither uses the network.
"""

from __future__ import annotations

from pathlib import Path

from podium.board.leaderboard import (
    LbScore,
    leaderboard_path,
    match_listing,
    read_kaggle_listing,
    record_scores,
)
from podium.board.scope import Scope
from podium.errors import DataError


def add(scope: Scope, submission: Path, public: float, private: float | None = None) -> Path:
    """Record `submission`'s scores in the leaderboard file beside it."""
    submission = Path(submission)
    if not submission.is_file():
        raise DataError(f"submission not found: {submission}")
    path = leaderboard_path(submission.parent, scope.competition)
    record_scores(path, [LbScore(submission.name, public, private)])
    shown = f"public {public}" + ("" if private is None else f", private {private}")
    print(f"lb {submission.name}: {shown} (recorded in {path})")
    return path


def import_listing(scope: Scope, listing: Path) -> Path:
    """Record every scored row of a Kaggle CLI listing that names one of the submissions."""
    if not Path(listing).is_file():
        raise DataError(f"Kaggle listing not found: {listing}")
    rows = read_kaggle_listing(Path(listing))
    known = {p.name for p in scope.submissions.glob("*.csv")}
    found = match_listing(rows, known, f"kaggle listing {Path(listing).name}")
    path = leaderboard_path(scope.submissions, scope.competition)
    if found.scores:
        record_scores(path, found.scores)
    print(f"lb import {listing}: {len(rows)} rows, {len(found.scores)} scores recorded in {path}")
    if found.unmatched:
        print(f"  {len(found.unmatched)} rows name no file in {scope.submissions}/ (not recorded):")
        for row in found.unmatched:
            print(f"    line {row.line}: {row.file or '(no fileName)'}  public {row.public}")
    if found.unscored:
        print(f"  {len(found.unscored)} rows have no public score yet:")
        for row in found.unscored:
            print(f"    line {row.line}: {row.file}  status {row.status or '?'}")
    return path
