"""A stage killed at any write leaves either its old stamped outputs or no stamp at all, never
new outputs under an old stamp (#23 item 16).

The trap: a stage re-run on changed inputs (X) writes its new outputs, is killed before its
stamp, and the user goes back to the old inputs (W): the old stamp matches W, so the stage
said "up to date" over X's files. Here every stage is run on X in a process that SIGKILLs
itself after its 1st, 2nd, ... atomic write (`PODIUM_KILL_AFTER_WRITES`, the seam in
`podium.artifacts`), until one finishes; after each kill `podium` runs on W in this process,
and every output must equal W's own (redone, or never touched)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from factories import copy_demo_head, run_killed_after
from podium.artifacts import read_json
from podium.cli import main
from podium.units import train as units_train

pytestmark = pytest.mark.processes  # a minute or more of several processes

ROOT = Path(__file__).resolve().parents[2]
RUN = Path("runs") / "digits"


def _write(path: Path, d: dict) -> str:
    path.write_text(yaml.safe_dump(d, sort_keys=False))
    return str(path)


@pytest.fixture(scope="module")
def work(tmp_path_factory, demo_data_root) -> Path:
    """A small competition, a trained CNN (with its oof, infer and submission), a tabular
    member, an ensemble of both and a pseudo-label student of the CNN, all made on W."""
    work = tmp_path_factory.mktemp("killed")
    copy_demo_head(demo_data_root, work / "data", 240, 16)
    paths = {"data": str(work / "data"), "runs": str(work / "runs"), "submissions": str(work)}
    base = {
        "extends": str(ROOT / "configs/digits/base.yaml"),
        "folds": {"n_splits": 2},
        "infer": {"tta": ["identity"]},
        "paths": paths,
    }
    _write(
        work / "cnn.yaml",
        {**base, "model": {"name": "test_convnext"}, "train": {"epochs": 1, "progress": False}},
    )
    tabular = {"model": "logistic", "image_size": 8, "params": {"max_iter": 100}}
    _write(work / "pixels.yaml", {**base, "tabular": tabular})
    meta = {"seeds": [0], "n_jobs": 1, "params": {"n_estimators": 10}}
    ensemble = {"members": ["cnn.yaml", "pixels.yaml"], "meta": meta}
    _write(work / "ens.yaml", {**base, "name": "ens", "ensemble": ensemble})
    pseudo = {"teacher": "cnn.yaml", "threshold": None}
    _write(work / "student.yaml", {"extends": "cnn.yaml", "name": "student", "pseudo": pseudo})
    assert main(["ensemble", "-c", str(work / "ens.yaml")]) == 0  # trains and predicts both
    return work


def _json(path: Path) -> dict:
    """A JSON output without its timings (which differ run to run)."""
    record = read_json(path)
    record.pop("seconds", None)
    return record


def _outputs(work: Path, files: list[str]) -> dict:
    out = {}
    for name in files:
        path = work / name
        if name.endswith(".parquet"):
            out[name] = pd.read_parquet(path)
        elif name.endswith("submission.json"):  # the file it points at, by content
            out[name] = Path(read_json(path)["path"]).read_text()
        else:
            out[name] = _json(path)
    return out


def _same(got: dict, expected: dict) -> None:
    for name, value in expected.items():
        if isinstance(value, pd.DataFrame):
            pd.testing.assert_frame_equal(got[name], value, obj=name)
        else:
            assert got[name] == value, name


CNN = [f"{RUN}/cnn/{f}" for f in ("oof.parquet", "scores.json", "test.parquet")]
SCENARIOS = {
    # oof, infer and submit of an experiment, killed at each of their writes
    "oof-infer-submit": (
        ["submit", "-c", "cnn.yaml"],
        ["infer.tta=[identity,shift1_0]"],
        [*CNN, f"{RUN}/cnn/test_by_fold.parquet", f"{RUN}/cnn/submission.json"],
    ),
    "tabular": (
        ["train", "-c", "pixels.yaml"],
        ["tabular.params={C: 0.01, max_iter: 100}"],
        [f"{RUN}/pixels/{f}" for f in ("oof.parquet", "test_by_fold.parquet", "scores.json")],
    ),
    "ensemble-submit": (
        ["ensemble", "-c", "ens.yaml"],
        ["ensemble.meta.params={n_estimators: 3}"],
        [f"{RUN}/ensemble/ens/{f}" for f in ("scores.json", "test.parquet", "submission.json")],
    ),
}


def _restore(work: Path, snapshot: Path) -> None:
    """runs/ as it was after the run on W, so that the n-th write of every run on X is the
    same one (resumable work, such as a tabular member's finished folds, would shift it)."""
    shutil.rmtree(work / "runs")
    shutil.copytree(snapshot, work / "runs")


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_a_stage_killed_at_any_write_is_redone_not_trusted(work, scenario, monkeypatch, tmp_path):
    monkeypatch.chdir(work)
    argv, changed, files = SCENARIOS[scenario]
    assert main(argv) == 0
    expected = _outputs(work, files)
    snapshot = shutil.copytree(work / "runs", tmp_path / "runs")
    for n in range(1, 60):
        _restore(work, snapshot)
        code = run_killed_after(n, [*argv, *changed])
        assert main(argv) == 0
        _same(_outputs(work, files), expected)
        if code == 0:  # the run on X finished before its n-th write: every write was a kill
            break
        assert code == -9
    assert n > 3


class _NoFit:
    """The student's training, skipped: this test is about its pseudo-labels."""

    def __call__(self, cfg, task, train, valid, unit_dir, seed, on_epoch_end=None, stamp=None):
        return {"metric": "accuracy", "best_score": 0.0, "best_epoch": 0}


def test_pseudo_labels_killed_at_any_write_are_rebuilt(work, monkeypatch, tmp_path):
    monkeypatch.chdir(work)
    monkeypatch.setattr(units_train, "fit", _NoFit())
    argv, files = ["train", "-c", "student.yaml"], [f"{RUN}/student/pseudo.parquet"]
    record = work / RUN / "student" / "pseudo.json"
    assert main(argv) == 0
    expected, w = _outputs(work, files), read_json(record)["fingerprint"]
    snapshot = shutil.copytree(work / "runs", tmp_path / "runs")
    for n in range(1, 10):
        _restore(work, snapshot)
        # the teacher is fresh; the first writes on X are the pseudo-labels', then training
        # (a threshold under the stand-in teacher's confidence, 2/15: rows are kept)
        assert run_killed_after(n, [*argv, "pseudo.threshold=0.1"]) == -9
        x_done = record.exists() and read_json(record)["fingerprint"] != w
        assert main(argv) == 0
        _same(_outputs(work, files), expected)
        assert read_json(record)["fingerprint"] == w
        if x_done:  # the kill came after X's pseudo.json: every pseudo write was covered
            break
    assert 2 <= n < 9
