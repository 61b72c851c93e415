"""`podium lb add` and `podium lb import`, through the CLI as a user types them: scores land in
one file per competition beside the submissions, a Kaggle CLI listing is matched by file
name (unmatched and unscored rows reported), and bad input is one line naming the file."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from podium import cli
from podium.artifacts import read_json
from podium.board.leaderboard import parse_submission

SUB_A = "digits-resnet10t-cv0.9958-20261205T101010123Z.csv"
SUB_B = "digits-stack-v2-cv0.9965-20261205T111111000Z-2.csv"


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    """A folder with runs/digits/ and two submission files, as the current directory."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs/digits").mkdir(parents=True)
    (tmp_path / "runs/digits/folds.csv").write_text("id,fold\n")
    (tmp_path / "submissions").mkdir()
    for name in (SUB_A, SUB_B):
        (tmp_path / "submissions" / name).write_text("id,label\n")
    return tmp_path


def recorded(project: Path) -> dict[str, dict]:
    data = read_json(project / "submissions/digits-leaderboard.json")
    return {s["file"]: s for s in data["scores"]}


def test_submission_names_give_experiment_cv_and_time():
    sub = parse_submission(Path(SUB_B), "digits")
    assert sub is not None
    assert (sub.experiment, sub.cv) == ("stack-v2", 0.9965)
    assert sub.made == datetime(2026, 12, 5, 11, 11, 11, tzinfo=timezone.utc)
    assert parse_submission(Path("digits-leaderboard.json"), "digits") is None
    assert parse_submission(Path("other-x-cv0.9-20261205T101010123Z.csv"), "digits") is None


def test_lb_add_records_beside_the_submission_and_replaces_a_file_s_older_score(project, capsys):
    assert cli.main(["lb", "add", f"submissions/{SUB_A}", "--public", "0.912"]) == 0
    assert "public 0.912" in capsys.readouterr().out
    assert cli.main(["lb", "add", f"submissions/{SUB_B}", "--public", "0.93"]) == 0
    assert (
        cli.main(["lb", "add", f"submissions/{SUB_A}", "--public", "0.915", "--private", "0.9"])
        == 0
    )
    scores = recorded(project)
    assert set(scores) == {SUB_A, SUB_B}
    assert (scores[SUB_A]["public"], scores[SUB_A]["private"]) == (0.915, 0.9)
    assert scores[SUB_B]["private"] is None
    assert not list((project / "submissions").glob(".*.tmp"))  # written atomically


def test_lb_add_names_a_missing_submission_in_one_line(project, capsys):
    assert (
        cli.main(["lb", "add", "submissions/nope.csv", "--public", "0.9", "--comp", "digits"]) == 2
    )
    err = capsys.readouterr().err.strip()
    assert err == "podium lb: error: submission not found: submissions/nope.csv"


def test_lb_import_matches_the_kaggle_listing_by_file_name(project, capsys):
    listing = project / "lb.csv"
    listing.write_text(
        "fileName,date,description,status,publicScore,privateScore\n"
        f"{SUB_B},2026-12-05 12:00:00,stack,SubmissionStatus.COMPLETE,0.93100,\n"
        f"{SUB_A},2026-12-05 11:00:00,again,SubmissionStatus.COMPLETE,0.92000,0.91000\n"
        f"{SUB_A},2026-12-05 10:30:00,first,SubmissionStatus.COMPLETE,0.80000,\n"
        "submission.csv,2026-12-04 09:00:00,by hand,complete,0.5,\n"
        f"{SUB_B},2026-12-05 12:30:00,pending one,SubmissionStatus.PENDING,None,None\n"
    )
    assert cli.main(["lb", "import", str(listing), "--comp", "digits"]) == 0
    out = capsys.readouterr().out
    assert "5 rows, 2 scores recorded" in out
    assert "line 5: submission.csv  public 0.5" in out  # unmatched, reported
    assert "line 6: " + SUB_B + "  status pending" in out  # no score yet
    scores = recorded(project)
    assert scores[SUB_A]["public"] == 0.92 and scores[SUB_A]["private"] == 0.91  # the newest
    assert scores[SUB_B]["public"] == 0.931 and scores[SUB_B]["description"] == "stack"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name,score\na,1\n", "missing column(s) ['fileName', 'publicScore']"),
        (
            f"fileName,publicScore\n{SUB_A},high\n",
            "line 2, column 'publicScore' = 'high' is not a score",
        ),
    ],
)
def test_lb_import_refuses_a_file_that_is_not_a_kaggle_listing(project, capsys, text, message):
    listing = project / "lb.csv"
    listing.write_text(text)
    assert cli.main(["lb", "import", str(listing)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err and str(listing) in err
