"""The leaderboard scores a competitor recorded for their submissions, and the submissions
themselves.

Scores live in one file per competition beside the submissions,
`<submissions>/<comp>-leaderboard.json`, keyed by the submission's file name (the name Kaggle
shows as `fileName`). It is read, merged and written under a lock and atomically, so two
`podium lb` commands never lose each other's scores. A Kaggle CLI listing (`kaggle
competitions submissions -c COMP -v > lb.csv`: columns fileName, date, description, status,
publicScore, privateScore) is read here too; no network is used, ever.

Submissions are found by podium's own naming, `<comp>-<experiment>-cv<score>-<UTC>.csv`.
"""

from __future__ import annotations

import csv
import re
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from podium.artifacts import write_json
from podium.errors import ArtifactError, DataError
from podium.locks import exclusive
from podium.records import read_json_or_none

SUFFIX = "-leaderboard.json"
KAGGLE_COLUMNS = ("fileName", "date", "description", "status", "publicScore", "privateScore")
_STAMP = re.compile(r"-cv(?P<cv>nan|-?\d+(?:\.\d+)?)-(?P<when>\d{8}T\d{6}\d{3}Z)(?:-\d+)?$")


@dataclass(frozen=True)
class LbScore:
    """A submission's public (and, after the deadline, private) leaderboard score."""

    file: str
    public: float | None
    private: float | None = None
    recorded: str = ""  # when podium recorded it (UTC, ISO 8601)
    source: str = "podium lb add"
    submitted: str | None = None  # Kaggle's date, where it came from its listing
    description: str | None = None


def leaderboard_path(submissions: Path, competition: str) -> Path:
    return Path(submissions) / f"{competition}{SUFFIX}"


def read_leaderboard(path: Path) -> dict[str, LbScore]:
    """The recorded scores by file name; none where the file does not exist yet."""
    if not Path(path).exists():
        return {}
    data = read_json_or_none(path)
    if data is None or not isinstance(data.get("scores"), list):
        raise ArtifactError(
            f"{path}: not a podium leaderboard file (a JSON object with a `scores` list); "
            "move it away and record the scores again"
        )
    fields = set(LbScore.__dataclass_fields__)
    return {
        s["file"]: LbScore(**{k: v for k, v in s.items() if k in fields})
        for s in data["scores"]
        if isinstance(s, dict) and "file" in s
    }


def record_scores(path: Path, scores: list[LbScore]) -> dict[str, LbScore]:
    """Merge `scores` into the leaderboard file (a file's newer record replaces its older
    one); returns every recorded score."""
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    with exclusive(
        Path(path).with_name(Path(path).name + ".lock"), f"the leaderboard {path}", wait=30
    ):
        current = read_leaderboard(path)
        for score in scores:
            current[score.file] = LbScore(**{**asdict(score), "recorded": score.recorded or now})
        ordered = sorted(current.values(), key=lambda s: s.file)
        write_json(path, {"scores": [asdict(s) for s in ordered]})
    return current


# ---- podium's submissions ----------------------------------------------------------------


@dataclass(frozen=True)
class SubmissionFile:
    """One submission CSV written by `podium submit`, as its name tells."""

    path: Path
    experiment: str
    cv: float | None
    made: datetime

    @property
    def file(self) -> str:
        return self.path.name


def parse_submission(path: Path, competition: str) -> SubmissionFile | None:
    """`<comp>-<experiment>-cv<score>-<UTC>[-n].csv`, or None for any other file name."""
    stem = Path(path).name.removesuffix(".csv")
    if not stem.startswith(f"{competition}-") or Path(path).suffix != ".csv":
        return None
    rest = stem[len(competition) + 1 :]
    m = _STAMP.search(rest)
    if m is None or m.start() == 0:
        return None
    cv = None if m["cv"] == "nan" else float(m["cv"])
    made = datetime.strptime(m["when"][:-4], "%Y%m%dT%H%M%S").replace(
        microsecond=int(m["when"][-4:-1]) * 1000, tzinfo=timezone.utc
    )
    return SubmissionFile(Path(path), rest[: m.start()], cv, made)


def list_submissions(submissions: Path, competition: str) -> list[SubmissionFile]:
    """podium's submissions of `competition`, oldest first."""
    found = (parse_submission(p, competition) for p in Path(submissions).glob("*.csv"))
    return sorted((s for s in found if s is not None), key=lambda s: s.made)


# ---- the Kaggle CLI's listing ------------------------------------------------------------


@dataclass(frozen=True)
class KaggleRow:
    line: int
    file: str
    date: str
    description: str
    status: str
    public: float | None
    private: float | None


def _score(text: str | None, path: Path, line: int, column: str) -> float | None:
    text = (text or "").strip()
    if text.lower() in ("", "none", "null", "nan"):
        return None
    try:
        return float(text)
    except ValueError:
        raise DataError(
            f"{path}: line {line}, column {column!r} = {text!r} is not a score"
        ) from None


def read_kaggle_listing(path: Path) -> list[KaggleRow]:
    """The CSV that `kaggle competitions submissions -c COMP -v` prints. Status reads as
    Kaggle's word (`complete`, `pending`, `error`), whichever way the CLI version spells it."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            header = reader.fieldnames or []
            missing = [c for c in ("fileName", "publicScore") if c not in header]
            if missing:
                raise DataError(
                    f"{path}: missing column(s) {missing}; expected the CSV of `kaggle "
                    f"competitions submissions -c COMP -v` ({', '.join(KAGGLE_COLUMNS)}), got "
                    f"{header}"
                )
            rows = list(reader)
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: cannot read the Kaggle listing ({e})") from None
    out = []
    for i, row in enumerate(rows, start=2):
        status = (row.get("status") or "").strip().rsplit(".", 1)[-1].lower()
        out.append(
            KaggleRow(
                i,
                (row.get("fileName") or "").strip(),
                (row.get("date") or "").strip(),
                (row.get("description") or "").strip(),
                status,
                _score(row.get("publicScore"), path, i, "publicScore"),
                _score(row.get("privateScore"), path, i, "privateScore"),
            )
        )
    return out


@dataclass(frozen=True)
class KaggleImport:
    """What a listing gave: scores for known submission files, rows naming no file podium
    knows, and rows without a score yet (pending, failed)."""

    scores: list[LbScore]
    unmatched: list[KaggleRow]
    unscored: list[KaggleRow]


def match_listing(rows: list[KaggleRow], known: set[str], source: str) -> KaggleImport:
    """Rows matched to submission files by file name; a file submitted more than once keeps
    its newest scored row (Kaggle lists the newest first)."""
    scores: dict[str, LbScore] = {}
    unmatched, unscored = [], []
    for row in rows:
        if row.file not in known:
            unmatched.append(row)
        elif row.public is None:
            unscored.append(row)
        elif row.file not in scores:
            scores[row.file] = LbScore(
                row.file, row.public, row.private, "", source, row.date, row.description
            )
    return KaggleImport(list(scores.values()), unmatched, unscored)
