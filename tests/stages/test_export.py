"""`podium export` and `podium predict`: a tiny trained stack (a CNN with TTA, a tabular
logistic member on HOG features, an XGBoost stack) exported to a bundle; in a folder holding only the bundle,
the test images and sample_submission.csv, podium is installed from the bundle's own wheel
into a fresh virtual environment (no index; torch and the rest from the parent's site) and
`podium predict` reproduces the pipeline's test predictions and submission. A tampered,
incomplete or newer bundle is refused; a stale run is refused with the command that makes it."""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from podium import pipeline
from podium.artifacts import read_json
from podium.bundle.manifest import MANIFEST, read_manifest
from podium.cli import main
from podium.errors import ArtifactError
from podium.predictions import TEST

ROOT = Path(__file__).resolve().parents[2]
FAST = [
    "model.name=test_convnext",
    "train.epochs=1",
    "train.progress=false",
    "folds.n_splits=2",
    "data.num_workers=0",
    "infer.batch_size=512",
]


def write_yaml(path: Path, data: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def stack(tmp_path_factory, demo_data_root):
    """The stack trained and ensembled by the pipeline, then exported: (work dir, ensemble
    config path, bundle)."""
    from podium.config import apply_overrides, read_yaml

    work = tmp_path_factory.mktemp("stack")
    base = apply_overrides(
        read_yaml(ROOT / "configs/digits/base.yaml"),
        [
            *FAST,
            f"paths.data={demo_data_root}",
            f"paths.runs={work / 'runs'}",
            f"paths.submissions={work / 'submissions'}",
        ],
    )
    configs = work / "configs"
    write_yaml(configs / "base.yaml", base)
    write_yaml(
        configs / "cnn.yaml", {"extends": "base.yaml", "infer": {"tta": ["identity", "shift1_0"]}}
    )
    write_yaml(
        configs / "hog.yaml",
        {  # a tabular member on HOG features: the bundle computes them as the fit did
            "extends": "base.yaml",
            "tabular": {
                "model": "logistic",
                "image_size": 8,
                "features": "hog",
                "hog": {"cells": [2, 4]},
                "params": {"max_iter": 200},
            },
        },
    )
    meta = {
        "seeds": [0, 1],
        "early_stopping_rounds": 5,
        "n_jobs": 1,
        "params": {"n_estimators": 30, "learning_rate": 0.3},
    }
    ens = write_yaml(
        configs / "ens.yaml",
        {
            "extends": "base.yaml",
            "name": "stack",
            "ensemble": {"members": ["cnn.yaml", "hog.yaml"], "meta": meta, "select": "stack"},
        },
    )
    pipeline.run("ensemble", pipeline.Request(config=ens))
    bundle = pipeline.run("export", pipeline.Request(config=ens), out=work / "bundle")
    return work, ens, bundle


def test_bundle_holds_what_inference_needs(stack):
    work, _, bundle = stack
    manifest = read_manifest(bundle)
    assert manifest["podium_version"] and manifest["task"] == "multiclass"
    assert manifest["labels"] == [str(i) for i in range(10)]
    assert [m["name"] for m in manifest["members"]] == ["cnn", "hog"]
    cnn = manifest["members"][0]
    assert cnn["tta"] == ["identity", "shift1_0"] and cnn["merge"] == "prob"
    assert len(cnn["checkpoints"]) == 2  # 2 folds x 1 seed
    assert manifest["combination"]["kind"] == "stack"
    # the stack met each fold's models' test predictions: predict recomputes them per fold
    assert manifest["combination"]["test_views"] == "per_fold"
    assert (bundle / "ensemble/meta/prior.json").is_file()
    assert len(list((bundle / "wheels").glob("podium-*.whl"))) == 1
    # no local paths in what travels
    text = (bundle / MANIFEST).read_text()
    assert str(work) not in text and "solution" not in json.dumps(manifest["config"]["paths"])
    kernel = read_json(bundle / "kernel/kernel-metadata.json")
    assert kernel["enable_internet"] is False and kernel["dataset_sources"]
    assert read_json(bundle / "dataset-metadata.json")["id"] == kernel["dataset_sources"][0]
    # the checkpoints hold only the inference weights (no optimizer state)
    import torch

    state = torch.load(bundle / cnn["checkpoints"][0], weights_only=True)
    assert set(state) == {"model"}


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["NO_ALBUMENTATIONS_UPDATE"] = "1"
    return env


def test_the_kernel_predicts_from_the_bundle_alone_in_a_fresh_venv(stack, demo_data_root, tmp_path):
    """The Kaggle kernel rehearsed: /kaggle/input holds the bundle dataset and the competition's
    test images + sample_submission.csv; the kernel's script installs podium from the bundle
    (no index) into a fresh venv and runs `podium predict` into /kaggle/working."""
    work, _, bundle = stack
    kaggle_input, working = tmp_path / "input", tmp_path / "working"
    shutil.copytree(bundle, kaggle_input / "podium-digits-stack")
    data = kaggle_input / "digits-hidden"  # no train.csv, no runs, no config, no solution
    shutil.copytree(demo_data_root / "digits" / "test", data / "test")
    shutil.copy(demo_data_root / "digits" / "sample_submission.csv", data)
    working.mkdir()
    venv = tmp_path / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", str(venv)],
        check=True,
    )
    py = venv / "bin" / "python"
    purelib = subprocess.run(
        [py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # torch, timm, pip... from this interpreter's site-packages; the .pth files there (an
    # editable podium) are not processed from a directory added this way
    (Path(purelib) / "parent.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    env = _clean_env() | {
        "PODIUM_KAGGLE_INPUT": str(kaggle_input),
        "PODIUM_KAGGLE_WORKING": str(working),
    }
    hidden = subprocess.run([py, "-c", "import podium"], env=env, cwd=working, capture_output=True)
    assert hidden.returncode != 0, "podium must not be importable before the bundle's wheel"
    script = kaggle_input / "podium-digits-stack" / "kernel" / "predict.py"
    done = subprocess.run([py, script], env=env, cwd=working, capture_output=True, text=True)
    said = done.stdout + done.stderr
    assert done.returncode == 0, said[-3000:]
    # the kernel names both files it writes: the submission and the test predictions
    assert sorted(p.name for p in working.iterdir()) == ["submission.csv", TEST]
    where = subprocess.run(
        [py, "-c", "import podium; print(podium.__file__)"],
        env=env,
        cwd=working,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert where.startswith(str(venv)), where  # the bundle's wheel, not the checkout
    assert "test images x" in said and "about" in said, said  # the estimate
    runs = work / "runs" / "digits" / "ensemble" / "stack"
    expected = pd.read_parquet(runs / TEST).set_index("id")
    got = pd.read_parquet(working / TEST).set_index("id").loc[expected.index]
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), atol=1e-5)
    submitted = Path(read_json(runs / "submission.json")["path"])
    assert (working / "submission.csv").read_bytes() == submitted.read_bytes()


def _predict(bundle: Path, demo_data_root: Path, tmp_path: Path) -> Path:
    from podium.stages.predict import run

    return run(bundle, demo_data_root / "digits", tmp_path / "sub.csv")


def test_a_tampered_checkpoint_is_refused(stack, demo_data_root, tmp_path):
    bundle = shutil.copytree(stack[2], tmp_path / "bundle")
    ckpt = next((bundle / "runs").rglob("*.pt"))
    data = bytearray(ckpt.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte inside the weights
    ckpt.write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match=rf"{ckpt.name}: sha256 differs from manifest.json"):
        _predict(bundle, demo_data_root, tmp_path)


def test_a_missing_file_is_refused(stack, demo_data_root, tmp_path):
    bundle = shutil.copytree(stack[2], tmp_path / "bundle")
    (bundle / "ensemble/meta/prior.json").unlink()
    with pytest.raises(ArtifactError, match=r"prior.json: missing from the bundle"):
        _predict(bundle, demo_data_root, tmp_path)


def test_a_bundle_from_a_newer_podium_is_refused(stack, demo_data_root, tmp_path):
    bundle = shutil.copytree(stack[2], tmp_path / "bundle")
    manifest = read_json(bundle / MANIFEST)
    manifest["podium_version"] = "99.0.0"
    (bundle / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match=r"made by podium 99.0.0, newer than this podium"):
        _predict(bundle, demo_data_root, tmp_path)


def test_stale_members_are_refused_with_the_command(stack, tmp_path):
    work, ens, _ = stack
    with pytest.raises(ArtifactError, match=r"podium infer -c .*ens.yaml --exp cnn"):
        pipeline.run(
            "export",
            pipeline.Request(config=ens, overrides=["infer.tta=[identity]"]),
            out=tmp_path / "b",
        )


# ---- what predict and export may write, and what a bundle must prove (#23 items 12, 13, 15)


def _hidden(demo_data_root: Path, where: Path) -> Path:
    """The test images and sample_submission.csv in a folder not named like the competition."""
    shutil.copytree(demo_data_root / "digits" / "test", where / "test")
    shutil.copy(demo_data_root / "digits" / "sample_submission.csv", where)
    return where


def _one_error(capsys, stage: str) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(f"podium {stage}: error: "), err
    return err


def test_predict_refuses_outputs_among_runs_inputs_and_the_bundle(
    stack, demo_data_root, tmp_path, capsys, monkeypatch
):
    work, _, bundle = stack
    run = work / "runs" / "digits" / "cnn"
    hidden = _hidden(demo_data_root, tmp_path / "hidden")
    before = {p: p.read_bytes() for p in (run / TEST, hidden / "sample_submission.csv")}
    link = tmp_path / "innocent"
    link.symlink_to(run, target_is_directory=True)
    monkeypatch.chdir(work)  # ./runs is podium's runs folder here
    refused = {
        "--out": [
            run / "x.csv",
            hidden / "sample_submission.csv",
            link / "x.csv",
            bundle / "s.csv",
        ],
        "--predictions": [run / TEST, Path("runs") / "elsewhere.parquet"],
    }
    for option, paths in refused.items():
        for path in paths:
            args = ["predict", "--bundle", str(bundle), "--data", str(hidden), option, str(path)]
            if option == "--predictions":
                args += ["--out", str(tmp_path / "ok.csv")]
            assert main(args) == 2, path
            assert "lies inside" in _one_error(capsys, "predict")
    assert {p: p.read_bytes() for p in before} == before
    assert not (tmp_path / "ok.csv").exists()


def test_predict_writes_only_the_files_it_is_given(stack, demo_data_root, tmp_path, capsys):
    _, _, bundle = stack
    hidden = _hidden(demo_data_root, tmp_path / "hidden")
    out, preds = tmp_path / "a" / "submission.csv", tmp_path / "b" / "p.parquet"
    args = ["predict", "--bundle", str(bundle), "--data", str(hidden), "--out", str(out)]
    assert main([*args, "--predictions", str(preds)]) == 0
    assert [p.name for p in out.parent.iterdir()] == ["submission.csv"]  # nothing beside it
    assert [p.name for p in preds.parent.iterdir()] == ["p.parquet"]
    assert len(pd.read_parquet(preds)) == len(pd.read_csv(out))
    capsys.readouterr()
    # a data error names the user's folder, not the temporary link podium reads it through
    next((hidden / "test").glob("*.png")).unlink()
    assert main(args) == 2
    line = _one_error(capsys, "predict")
    assert str(hidden) in line and "podium-predict-" not in line, line


def test_export_replaces_only_a_podium_bundle(stack, tmp_path, capsys):
    _, ens, bundle = stack
    export = ["export", "-c", str(ens), "--out"]
    # a file: one line
    file = tmp_path / "bundle.zip"
    file.write_text("mine")
    assert main([*export, str(file)]) == 2
    assert "is a file" in _one_error(capsys, "export") and file.read_text() == "mine"
    # a web app's folder that merely holds a manifest.json
    app = tmp_path / "app"
    app.mkdir()
    (app / "manifest.json").write_text('{"name": "my app", "start_url": "/"}')
    (app / "index.html").write_text("<html></html>")
    assert main([*export, str(app)]) == 2
    assert "not replaced" in _one_error(capsys, "export")
    assert sorted(p.name for p in app.iterdir()) == ["index.html", "manifest.json"]
    # a bundle with a file of the user's inside
    mixed = shutil.copytree(bundle, tmp_path / "mixed")
    (mixed / "notes.txt").write_text("keep me")
    assert main([*export, str(mixed)]) == 2
    assert "notes.txt" in _one_error(capsys, "export") and (mixed / "notes.txt").is_file()
    # an earlier bundle, whole and unchanged: replaced
    again = shutil.copytree(bundle, tmp_path / "again")
    assert main([*export, str(again)]) == 0
    assert read_manifest(again)["name"] == "stack"


def test_an_edited_manifest_is_refused(stack, demo_data_root, tmp_path, capsys):
    """Swapping two classes in manifest.json would permute the submission's labels: the
    manifest's own hash refuses it, as does a podium_version that is no version."""
    hidden = _hidden(demo_data_root, tmp_path / "hidden")
    for edit, message in (
        (lambda m: m["labels"].reverse(), "does not match its own manifest_sha256"),
        (lambda m: m["members"][0]["tta"].pop(), "does not match its own manifest_sha256"),
        (lambda m: m.update(podium_version="latest"), "is not a version number"),
    ):
        bundle = shutil.copytree(stack[2], tmp_path / "bundle")
        manifest = read_json(bundle / MANIFEST)
        edit(manifest)
        (bundle / MANIFEST).write_text(json.dumps(manifest))
        args = ["predict", "--bundle", str(bundle), "--data", str(hidden)]
        assert main([*args, "--out", str(tmp_path / "s.csv")]) == 2
        assert message in _one_error(capsys, "predict")
        shutil.rmtree(bundle)
