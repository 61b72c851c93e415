"""`tune.storage` through the CLI (issue #23 item 20): a malformed URL, an unknown database,
a missing driver or a server that refuses is one line naming the key (never a traceback,
never the password), and a storage file's missing folder is made only inside the runs
folder unless the user passes `--mkdir`."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from podium.cli import main


@pytest.fixture
def tune_yaml(tiny_config, tmp_path) -> Path:
    """A one-trial study of the tiny model (no holdout), written as a user's tune file."""
    cfg = tiny_config()
    section = {
        "study": "s",
        "n_trials": 1,
        "holdout": False,
        "space": {"train.lr": [0.003, 0.005]},
        "pruner": {"name": "none"},
    }
    path = tmp_path / "tune.yaml"
    path.write_text(yaml.safe_dump({**cfg.resolved(), "tune": section}))
    return path


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.startswith("podium tune: error: "), err
    assert err.count("\n") == 1, err
    return err


@pytest.mark.parametrize(
    "url, message",
    [
        ("postgress://me:secret@db/optuna", "unknown database 'postgress' (did you mean 'postgres"),
        ("postgresql://me@db:port/optuna", "is not a database URL"),
        ("postgresql:/me@db/optuna", "looks like a URL without '//'"),
        ("sqlite://optuna.db", "three slashes before a relative path"),
        ("sqlite:///:memory:", "in-memory SQLite database forgets the study"),
        ("mysql://me@db/optuna", "its driver (mysqldb) is not installed: pip install mysqlclient"),
        ("postgresql://me:secret@127.0.0.1:1/optuna", "cannot open tune.storage"),
    ],
)
def test_a_bad_storage_url_is_one_line_naming_it(tune_yaml, capsys, url, message):
    assert (
        main(["tune", "-c", str(tune_yaml), f"tune.storage='{url}'"]) == 2
    )  # YAML: ':memory:' needs quotes
    err = one_line_error(capsys)
    assert "tune.storage" in err and message in err
    assert "secret" not in err  # the password is hidden (postgresql://me:***@...)
    assert not list(tune_yaml.parent.rglob("trial0000"))  # no trial ran


def test_a_folder_is_not_a_journal_file(tune_yaml, capsys):
    folder = tune_yaml.parent / "studies"
    folder.mkdir()
    assert main(["tune", "-c", str(tune_yaml), f"tune.storage={folder}"]) == 2
    assert f"is a folder; name a journal file in it, e.g. {folder / 'optuna.journal'}" in (
        one_line_error(capsys)
    )


def test_a_missing_folder_outside_the_runs_folder_is_made_only_with_mkdir(tune_yaml, capsys):
    outside = tune_yaml.parent / "elsewhere" / "studies"  # the runs folder is tmp/runs
    db, journal = outside / "optuna.db", outside / "optuna.journal"
    for command in (
        ["tune", "-c", str(tune_yaml), f"tune.storage=sqlite:///{db}"],
        ["tune", "-c", str(tune_yaml), f"tune.storage={journal}", "--devices", "cpu,cpu"],
    ):
        assert main(command) == 2
        err = one_line_error(capsys)
        assert f"the folder {outside} does not exist" in err and "podium tune --mkdir" in err
        assert not (tune_yaml.parent / "elsewhere").exists()  # nothing was made
    assert not (tune_yaml.parent / "runs/digits/tune/s/logs").exists()  # no worker started

    assert main(["tune", "-c", str(tune_yaml), f"tune.storage={journal}", "--mkdir"]) == 0
    assert journal.is_file()
    assert "tune s: 1 complete" in capsys.readouterr().out
