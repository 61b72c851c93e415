"""Guards at the boundary, part 2: artifacts. A truncated or planted checkpoint, an empty or
binary submission, two submits in the same instant, and the permissions of what podium
writes: each is one clear error (or one more file), never a traceback or a lost file."""

from __future__ import annotations

import os
import pickle
import stat
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

import podium.stages.submit as submit_stage
from factories import toy_config, write_competition
from podium.artifacts import ArtifactError, write_json, write_new, write_parquet
from podium.cli import main
from podium.competition import Competition, DataError
from podium.config import from_dict
from podium.engine.checkpoint import inference_state, load_checkpoint, save_checkpoint
from podium.predictions import write_test
from podium.stages import score as score_stage

# ---- 6. checkpoints ------------------------------------------------------------------------


def good_checkpoint(path: Path) -> bytes:
    save_checkpoint(path, {"model": {"w": torch.arange(1000.0)}, "epoch": 0})
    return path.read_bytes()


@pytest.mark.parametrize("cut", [0, 10, 0.5])
def test_a_truncated_last_pt_says_how_to_recover(tmp_path, cut):
    path = tmp_path / "last.pt"
    data = good_checkpoint(path)
    path.write_bytes(data[: int(len(data) * cut) if isinstance(cut, float) else cut])
    with pytest.raises(ArtifactError) as err:
        load_checkpoint(path)
    message = str(err.value)
    assert message.startswith(f"{path} is unreadable (truncated or corrupt: ")
    assert message.endswith("delete it to restart this unit from scratch, or re-run with --force")


def test_a_corrupt_best_pt_of_a_finished_unit_says_to_retrain_the_unit(tmp_path):
    unit = tmp_path / "fold0" / "seed0"
    unit.mkdir(parents=True)
    (unit / "result.json").write_text("{}")
    (unit / "best.pt").write_bytes(b"\x00garbage" * 50)
    with pytest.raises(ArtifactError) as err:
        inference_state(unit, "best")
    message = str(err.value)
    assert message.startswith(f"{unit / 'best.pt'} is unreadable (truncated or corrupt")
    assert f"delete {unit} to retrain this unit, or re-run `podium train` with --force" in message


class Planted:
    def __reduce__(self):  # what a malicious pickle does on load; never run here
        return (os.system, ("echo pwned",))


@pytest.mark.parametrize(
    "plant",
    [
        lambda p: torch.save({"model": Planted()}, p),  # torch's own format, foreign objects
        lambda p: torch.save({"model": np.zeros(3)}, p),  # numpy arrays are objects too
        lambda p: p.write_bytes(pickle.dumps({"model": Planted()})),  # a plain pickle
    ],
)
def test_a_pickle_planted_as_a_checkpoint_is_refused(tmp_path, plant):
    path = tmp_path / "best.pt"
    plant(path)
    with pytest.raises(ArtifactError) as err:
        load_checkpoint(path)
    message = str(err.value)
    assert message.startswith(f"{path} is not a weights-only checkpoint: it pickles objects")
    assert "which podium never loads" in message


def test_a_weights_only_file_that_is_not_a_podium_checkpoint_is_refused(tmp_path):
    path = tmp_path / "best.pt"
    torch.save({"w": torch.zeros(2)}, path)  # a bare state dict, e.g. someone else's weights
    with pytest.raises(ArtifactError, match=r"best\.pt is not a podium checkpoint \(no 'model'"):
        load_checkpoint(path)


def test_train_on_a_truncated_last_pt_exits_2_with_one_line(tmp_path, capsys):
    write_competition(tmp_path, ["a", "b"] * 4)
    config = tmp_path / "toy.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "competition": {"name": "toy", "solution": None},
                "model": {"name": "test_convnext"},
                "data": {"image_size": 8, "num_workers": 0},
                "folds": {"n_splits": 2},
                "train": {"progress": False, "epochs": 1},
                "paths": {
                    "data": str(tmp_path),
                    "runs": str(tmp_path / "runs"),
                    "submissions": str(tmp_path / "submissions"),
                },
            }
        )
    )
    assert main(["folds", "-c", str(config)]) == 0
    last = tmp_path / "runs" / "toy" / "toy" / "fold0" / "seed0" / "last.pt"
    last.parent.mkdir(parents=True)
    last.write_bytes(good_checkpoint(tmp_path / "x.pt")[:100])
    capsys.readouterr()
    assert main(["train", "-c", str(config), "--fold", "0", "--seed", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith(f"podium train: error: {last} is unreadable (truncated or corrupt")


# ---- 7 and 8. submissions ------------------------------------------------------------------


@pytest.fixture
def predicted(tmp_path):
    """The toy competition with a solution and a run that has test predictions."""
    write_competition(tmp_path, ["a", "b", "a", "b"])
    ids = [f"t{i:03d}" for i in range(4)]
    pd.DataFrame({"id": ids, "label": ["a", "b", "b", "a"]}).to_csv(
        tmp_path / "toy" / "solution.csv", index=False
    )
    cfg = toy_config(tmp_path, solution="solution.csv")
    cfg = from_dict(
        {**cfg.resolved(), "paths": {**cfg.resolved()["paths"], "submissions": str(tmp_path / "s")}}
    )
    cfg.run_dir.mkdir(parents=True)
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.7, 0.3]])
    write_test(cfg.run_dir / "test.parquet", Competition.from_config(cfg).task, ids, proba)
    return cfg


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", r"has no rows \(the file is empty\)"),
        (b"\x89PNG\r\n\x1a\n\x00\xff\xfe", "not a readable UTF-8 CSV submission"),
    ],
)
def test_an_empty_or_binary_submission_is_named(predicted, tmp_path, content, message):
    sub = tmp_path / "mine.csv"
    sub.write_bytes(content)
    with pytest.raises(DataError, match=message) as err:
        score_stage.run(predicted, sub)
    assert str(sub) in str(err.value)


def test_two_submits_in_the_same_instant_write_two_files(predicted, monkeypatch):
    class Frozen(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime(2026, 11, 5, 12, 0, 0, 123456, tzinfo=timezone.utc)

    monkeypatch.setattr(submit_stage, "datetime", Frozen)
    first = submit_stage.run(predicted)
    assert submit_stage.run(predicted) == first  # unchanged inputs: the same submission
    second = submit_stage.run(predicted, force=True)  # a second one of the same instant
    assert first != second and first.exists() and second.exists()
    assert first.name == "toy-toy-cvnan-20261105T120000123Z.csv"
    assert second.name == "toy-toy-cvnan-20261105T120000123Z-2.csv"
    assert pd.read_csv(first).equals(pd.read_csv(second))
    # score finds them by the same glob as before
    assert score_stage.latest_submission(predicted) in (first, second)
    assert score_stage.run(predicted)["all"] == pytest.approx(0.75)


def test_write_new_never_replaces_a_file(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("theirs")
    written = write_new(path, lambda tmp: tmp.write_text("mine"))
    assert written == tmp_path / "a-2.csv" and written.read_text() == "mine"
    assert path.read_text() == "theirs"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-2.csv", "a.csv"]  # no temp left


def test_submission_labels_that_the_solution_lacks_are_named(predicted, tmp_path):
    solution = tmp_path / "toy" / "solution.csv"
    pd.read_csv(solution).head(3).to_csv(solution, index=False)
    sub = submit_stage.run(predicted)
    with pytest.raises(DataError, match=r"solution\.csv: no label for 1 submission id\(s\)"):
        score_stage.run(predicted, sub)


# ---- 9. file modes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_atomically_written_files_get_the_umask_mode(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        write_json(tmp_path / "a.json", {"x": 1})
        write_parquet(tmp_path / "a.parquet", pd.DataFrame({"x": [1]}))
        save_checkpoint(tmp_path / "a.pt", {"model": {}})
        written = write_new(tmp_path / "s.csv", lambda tmp: tmp.write_text("x\n"))
    finally:
        os.umask(old)
    for name in ("a.json", "a.parquet", "a.pt", written.name):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == mode, name
