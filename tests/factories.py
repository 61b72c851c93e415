"""Tiny competitions written on the fly, for tests that need a broken or unusual one
(a missing image, an unknown label, duplicate ids, groups) rather than the demo."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from podium.config import from_dict


def write_competition(
    root: Path,
    labels: list[str],
    ids: list[str] | None = None,
    groups: list[str] | None = None,
    n_test: int = 4,
    size: int = 8,
) -> Path:
    """`root/toy/` in Kaggle layout: train.csv, train/<id>.png, test/<id>.png and a
    sample submission; each image is a flat grey level so tests can tell them apart."""
    comp = Path(root) / "toy"
    ids = ids or [f"r{i:03d}" for i in range(len(labels))]
    table = {"id": ids, "label": labels}
    if groups is not None:
        table["group"] = groups
    for split, names in (("train", ids), ("test", [f"t{i:03d}" for i in range(n_test)])):
        (comp / split).mkdir(parents=True, exist_ok=True)
        for k, name in enumerate(names):
            cv2.imwrite(
                str(comp / split / f"{name}.png"), np.full((size, size, 3), k % 256, np.uint8)
            )
    pd.DataFrame(table).to_csv(comp / "train.csv", index=False)
    test_ids = [f"t{i:03d}" for i in range(n_test)]
    pd.DataFrame({"id": test_ids, "label": labels[0]}).to_csv(
        comp / "sample_submission.csv", index=False
    )
    return comp


def toy_config(root: Path, **competition):
    """A Config for the toy competition under `root` (data and runs inside it)."""
    return from_dict(
        {
            "name": "toy",
            "competition": {"name": "toy", "solution": None, **competition},
            "data": {"image_size": 8, "num_workers": 0},
            "folds": {"n_splits": 2},
            "train": {"progress": False},
            "paths": {
                "data": str(root),
                "runs": str(Path(root) / "runs"),
                "submissions": str(Path(root) / "submissions"),
            },
        }
    )


def write_dicom(path: Path, arr: np.ndarray, photometric="MONOCHROME2", syntax=None, **elements):
    """A DICOM file written by pydicom from `arr` (12 bits stored), with extra data elements
    (RescaleSlope, WindowCenter...) and an optional compressed transfer syntax."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import SecondaryCaptureImageStorage, generate_uid

    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.set_pixel_data(arr, photometric_interpretation=photometric, bits_stored=12)
    for key, value in elements.items():
        setattr(ds, key, value)
    if syntax is not None:
        ds.compress(syntax)
    ds.save_as(path, enforce_file_format=True)
    return path


def copy_demo_head(demo_root: Path, dst_root: Path, n_train: int, n_test: int) -> Path:
    """The first `n_train` train rows and `n_test` test rows of the demo competition under
    `dst_root/digits` (exactness and process tests do not need all of it); returns dst_root."""
    src, dst = demo_root / "digits", dst_root / "digits"
    train = pd.read_csv(src / "train.csv", dtype=str).head(n_train)
    sample = pd.read_csv(src / "sample_submission.csv", dtype=str).head(n_test)
    for split, ids in (("train", train["id"]), ("test", sample["id"])):
        (dst / split).mkdir(parents=True)
        for i in ids:
            shutil.copy(src / split / f"{i}.png", dst / split / f"{i}.png")
    train.to_csv(dst / "train.csv", index=False)
    sample.to_csv(dst / "sample_submission.csv", index=False)
    return dst_root


def tiny_task_overrides(tmp_path: Path, task: str) -> list[str]:
    """A task's demo competition written under tmp_path/data, with the overrides of a tiny
    run (the test model, 1 epoch, 2 folds, one view) that keep runs and submissions there."""
    from podium.stages.demo_data import write_demo

    write_demo(tmp_path / "data", task=task)
    return [
        "model.name=test_convnext",
        "train.epochs=1",
        "folds.n_splits=2",
        "train.progress=false",
        "infer.tta=[identity]",
        "infer.batch_size=512",
        f"paths.data={tmp_path / 'data'}",
        f"paths.runs={tmp_path / 'runs'}",
        f"paths.submissions={tmp_path / 'subs'}",
    ]


def tiny_mask_overrides(tmp: Path, size: int, epochs: int = 1) -> list[str]:
    """The overrides of a tiny segmentation run under tmp (data, runs and submissions there):
    the test encoder under a small U-Net decoder, 2 folds, `size` px, seconds on the CPU."""
    return [
        f"paths.data={tmp / 'data'}",
        f"paths.runs={tmp / 'runs'}",
        f"paths.submissions={tmp / 'subs'}",
        "model.name=test_convnext",
        "model.kwargs={decoder_channels: [32, 16, 8, 8, 8]}",
        "folds.n_splits=2",
        f"data.image_size=[{size},{size}]",
        f"train.epochs={epochs}",
        "train.batch_size=16",
        "train.progress=false",
        "infer.batch_size=16",
    ]


def write_toy_config(root: Path, name: str = "toy", **sections) -> Path:
    """`root/<name>.yaml`: a tiny CNN experiment on the toy competition (test_convnext, 1 epoch,
    2 folds, 32 px, CPU), each section updated by `sections` (`competition={"task": ...}`);
    returns the path to give the CLI."""
    import yaml

    d = {
        "name": name,
        "competition": {"name": "toy", "solution": None},
        "data": {"image_size": 32, "num_workers": 0},
        "folds": {"n_splits": 2},
        "model": {"name": "test_convnext"},
        "train": {"epochs": 1, "batch_size": 4, "progress": False, "device": "cpu"},
        "paths": {
            "data": str(root),
            "runs": str(Path(root) / "runs"),
            "submissions": str(Path(root) / "submissions"),
        },
    }
    for section, values in sections.items():
        d[section] = {**d.get(section, {}), **values} if isinstance(values, dict) else values
    path = Path(root) / f"{name}.yaml"
    path.write_text(yaml.safe_dump(d, sort_keys=False))
    return path


def _cli_killed_after(n: int, argv: list[str], cwd: str) -> None:
    """In a forked process: `podium.cli.main(argv)` in `cwd`, SIGKILLed after its n-th
    finished write (the `podium.artifacts` seam)."""
    import os
    import sys

    from podium.artifacts import KILL_AFTER_WRITES
    from podium.cli import main

    os.chdir(cwd)
    os.environ[KILL_AFTER_WRITES] = str(n)
    sys.exit(main(argv))


def run_killed_after(n: int, argv: list[str]) -> int:
    """Run `podium <argv>` (in the current folder) in a process that kills itself (SIGKILL: no
    cleanup, no finally) after its n-th atomic write; returns its exit code (-9 when killed,
    0 when it finished with fewer writes). Processes fork from a server that imported podium
    once, so each costs the stage's work, not an interpreter's start."""
    import multiprocessing
    import os
    import sys
    from multiprocessing import forkserver

    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["podium.pipeline", "podium.cli"])
    saved = os.environ.get("PYTHONPATH")
    # the server imports what this process does (PYTHONPATH=src, tests/) from wherever it runs
    os.environ["PYTHONPATH"] = os.pathsep.join(os.path.abspath(p) for p in sys.path if p)
    try:
        forkserver.ensure_running()
    finally:
        if saved is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = saved
    process = ctx.Process(target=_cli_killed_after, args=(n, argv, os.getcwd()))
    process.start()
    process.join()
    return process.exitcode
