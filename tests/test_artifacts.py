"""The write seam (`podium.artifacts`) as a user meets it (#23 item 19): a disk that fills up
mid-checkpoint is one line naming the file and the space it needs, with no temporary file
left behind and the run resumable once space is freed; a read-only runs/ is an error only for
a stage that has something to write.

Where this process may mount file systems (root), the disk is a real 300 KB tmpfs and
runs/ a read-only bind mount; elsewhere the full disk is injected at the write (ENOSPC from the
saver, as a full disk gives it) and runs/ is made read-only with chmod."""

from __future__ import annotations

import errno
import os
import subprocess
from pathlib import Path

import pytest
import torch
import yaml

from podium.cli import main

ROOT = Path(__file__).resolve().parents[1]


def _mount(*args: str) -> bool:
    if os.geteuid() != 0:
        return False
    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


def _config(tmp_path: Path, data: Path, runs: Path) -> str:
    path = tmp_path / "exp.yaml"
    d = {
        "extends": str(ROOT / "configs/digits/base.yaml"),
        "name": "exp",
        "model": {"name": "test_convnext"},
        "folds": {"n_splits": 2},
        "data": {"cache": "memory"},
        "train": {"epochs": 1, "progress": False},
        "infer": {"tta": ["identity"]},
        "paths": {"data": str(data), "runs": str(runs), "submissions": str(tmp_path / "subs")},
    }
    path.write_text(yaml.safe_dump(d))
    return str(path)


def _one_line(capsys, stage: str) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(f"podium {stage}: error: "), err
    return err


@pytest.fixture
def full_disk(tmp_path, monkeypatch):
    """runs/ on a disk too small for a checkpoint; returns (runs folder, make room)."""
    runs = tmp_path / "small"
    runs.mkdir()
    if _mount("-t", "tmpfs", "-o", "size=300k", "tmpfs", str(runs)):
        yield runs, lambda: _mount("-o", "remount,size=16m", str(runs))
        subprocess.run(["umount", str(runs)], check=True)
        return
    real_save = torch.save
    room = {"full": True}

    def save(obj, f, *args, **kwargs):  # half a checkpoint, then the disk is full
        if room["full"]:
            Path(f).write_bytes(b"\0" * 1000)
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(obj, f, *args, **kwargs)

    monkeypatch.setattr(torch, "save", save)
    yield runs, lambda: room.update(full=False)


def test_a_full_disk_mid_checkpoint_is_one_line_and_leaves_no_temp_file(
    small_demo, tmp_path, full_disk, capsys
):
    runs, make_room = full_disk
    config = _config(tmp_path, small_demo, runs)
    assert main(["train", "-c", config]) == 2
    line = _one_line(capsys, "train")
    assert "best.pt: no space left on the device" in line and "needs about" in line, line
    unit = runs / "digits" / "exp" / "fold0" / "seed0"
    assert str(unit / "best.pt") in line
    left = [p.name for p in runs.rglob("*") if p.name.startswith(".") and p.is_file()]
    assert left == [] and not list(unit.glob("*.pt")), left
    make_room()
    assert main(["train", "-c", config]) == 0  # nothing lost: the run goes on
    assert (unit / "result.json").is_file()


@pytest.fixture
def read_only(tmp_path):
    """A function that makes a folder read-only for the rest of the test."""
    mounted: list[Path] = []
    changed: list[Path] = []

    def make(folder: Path) -> None:
        if _mount("--bind", str(folder), str(folder)):
            mounted.append(folder)
            assert _mount("-o", "remount,ro,bind", str(folder))
            return
        if os.geteuid() == 0:
            pytest.skip("root ignores file modes, and this process cannot mount")
        for p in [folder, *folder.rglob("*")]:
            p.chmod(p.stat().st_mode & ~0o222)
            changed.append(p)

    yield make
    for folder in mounted:
        subprocess.run(["umount", str(folder)], check=True)
    for p in changed:
        p.chmod(p.stat().st_mode | 0o200)


def test_a_read_only_runs_folder_fails_only_stages_that_write(
    small_demo, tmp_path, read_only, capsys
):
    runs = tmp_path / "runs"
    config = _config(tmp_path, small_demo, runs)
    assert main(["submit", "-c", config]) == 0  # folds, train, oof, infer, the submission
    read_only(runs)
    for stage in ("train", "oof", "infer", "submit"):  # all up to date: nothing to write
        assert main([stage, "-c", config]) == 0, stage
    capsys.readouterr()
    assert main(["infer", "-c", config, "infer.tta=[identity,shift1_0]"]) == 2
    line = _one_line(capsys, "infer")
    assert "cannot be written" in line and "read-only" in line and str(runs) in line, line
