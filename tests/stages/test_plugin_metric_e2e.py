"""A plug-in metric end to end (#22 item 3) on a binary demo (odd vs even digits, labels 0/1,
ISIC's layout: column `target`, a probability submission), scored by ISIC 2024's partial AUC
(examples/metrics/isic_pauc.py, Kaggle's form) named from a file beside the configs: it picks
the checkpoints, scores the OOF, `podium score`, the ensemble's choice and tune's objective;
`podium export` carries it and `podium predict` works with the original file moved away; a
changed file makes the trained units refuse, naming the key."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from podium.artifacts import read_json
from podium.bundle.manifest import read_manifest
from podium.cli import main

ROOT = Path(__file__).resolve().parents[2]
PAUC = ROOT / "examples" / "metrics" / "isic_pauc.py"
METRIC = {
    "function": "metrics/pauc.py:score",
    "direction": "maximize",
    "needs": "probabilities",
    "name": "pauc80",
}


def pauc(y, p) -> float:
    spec = importlib.util.spec_from_file_location("isic_pauc_e2e", PAUC)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    ids = np.arange(len(y))
    frame = lambda v: pd.DataFrame({"id": ids, "target": v})  # noqa: E731
    return module.score(frame(y), frame(p), "id")


@pytest.fixture(scope="module")
def parity(tmp_path_factory, demo_data_root):
    """(work dir, configs dir): 400 train and 60 test images of the demo, labelled 1 for an
    odd digit, and the configs of a CNN, a pixel model and their ensemble."""
    work = tmp_path_factory.mktemp("plugin")
    src, comp = demo_data_root / "digits", work / "data" / "parity"
    train = pd.read_csv(src / "train.csv", dtype=str).head(400)
    sample = pd.read_csv(src / "sample_submission.csv", dtype=str).head(60)
    solution = pd.read_csv(src / "solution.csv", dtype=str).set_index("id").loc[sample["id"]]
    for split, ids in (("train", train["id"]), ("test", sample["id"])):
        (comp / split).mkdir(parents=True)
        for i in ids:
            shutil.copy(src / split / f"{i}.png", comp / split / f"{i}.png")
    odd = lambda labels: labels.astype(int).to_numpy() % 2  # noqa: E731
    pd.DataFrame({"id": train["id"], "target": odd(train["label"])}).to_csv(
        comp / "train.csv", index=False
    )
    pd.DataFrame({"id": sample["id"], "target": odd(solution["label"])}).to_csv(
        comp / "solution.csv", index=False
    )
    pd.DataFrame({"id": sample["id"], "target": 0.5}).to_csv(
        comp / "sample_submission.csv", index=False
    )
    configs = work / "configs"
    (configs / "metrics").mkdir(parents=True)
    shutil.copy(PAUC, configs / "metrics" / "pauc.py")
    base = {
        "name": "cnn",
        "competition": {
            "name": "parity",
            "task": "binary",
            "target_column": "target",
            "submission_format": "proba",
            "metric": METRIC,
        },
        "folds": {"n_splits": 2},
        "data": {"image_size": 32, "num_workers": 0, "cache": "memory"},
        "model": {"name": "test_convnext", "pretrained": False},
        "train": {"epochs": 2, "checkpoint": "best", "progress": False, "batch_size": 64},
        "infer": {"tta": ["identity"], "batch_size": 512},
        "paths": {k: str(work / k) for k in ("data", "runs", "submissions")},
    }
    pixels = {"tabular": {"model": "logistic", "image_size": 8, "params": {"max_iter": 200}}}
    files = {
        "base.yaml": base,
        "pix.yaml": {"extends": "base.yaml", "name": "pix", **pixels},
        "ens.yaml": {
            "extends": "base.yaml",
            "name": "ens",
            "ensemble": {"members": ["base.yaml", "pix.yaml"], "select": "best"},
        },
        "tune.yaml": {
            "extends": "base.yaml",
            "name": "tuned",
            "train": {"epochs": 1},
            "tune": {
                "study": "t",
                "n_trials": 2,
                "space": {"train.lr": {"type": "float", "low": 1e-3, "high": 1e-2, "log": True}},
            },
        },
    }
    for name, body in files.items():
        (configs / name).write_text(yaml.safe_dump(body, sort_keys=False))
    return work, configs


def podium(*args: str) -> None:
    assert main(list(args)) in (0, None)


def test_the_metric_drives_checkpoints_oof_score_ensemble_tune_and_the_bundle(
    parity, capsys, monkeypatch
):
    work, configs = parity
    monkeypatch.chdir(work)  # the metric's file is found from the configs' folder, not here
    runs = work / "runs" / "parity"

    podium("oof", "-c", str(configs / "base.yaml"))
    out = capsys.readouterr().out
    assert "CV pauc80" in out
    for k in (0, 1):  # checkpoint choice
        result = read_json(runs / "cnn" / f"fold{k}" / "seed0" / "result.json")
        assert result["metric"] == "pauc80" and 0 <= result["best_score"] <= 0.2
    scores = read_json(runs / "cnn" / "scores.json")
    oof = pd.read_parquet(runs / "cnn" / "oof.parquet")
    assert scores["metric"] == "pauc80" and scores["greater_is_better"] is True
    assert scores["cv"] == pytest.approx(pauc(oof["target"].astype(int), oof["p_1"]))

    podium("submit", "-c", str(configs / "base.yaml"))
    podium("score", "-c", str(configs / "base.yaml"))
    assert "pauc80  all 0." in capsys.readouterr().out

    podium("ensemble", "-c", str(configs / "ens.yaml"))
    ens = read_json(runs / "ensemble" / "ens" / "scores.json")
    assert ens["metric"] == "pauc80" and "pauc80" in ens["nested_selection"]
    best = max(c["pauc80"] for c in ens["candidates"].values())
    assert ens["candidates"][ens["chosen"]]["pauc80"] == pytest.approx(best)
    submission = sorted((work / "submissions").glob("parity-ens-cv*.csv"))[-1]

    podium("tune", "-c", str(configs / "tune.yaml"))
    summary = read_json(runs / "tune" / "t" / "summary.json")
    assert summary["direction"] == "maximize" and summary["trials"]["complete"] == 2
    assert 0 <= summary["best_value"] <= 0.2

    bundle = work / "bundle"
    podium("export", "-c", str(configs / "ens.yaml"), "--out", str(bundle))
    manifest = read_manifest(bundle)
    [carried] = manifest["metric_files"]
    assert carried["file"] == "metrics/pauc.py"
    assert manifest["files"]["metrics/pauc.py"] == carried["sha256"]
    assert manifest["config"]["competition"]["metric"]["function"] == "metrics/pauc.py:score"
    given = work / "given"  # what a Kaggle notebook has: the test images and the sample
    given.mkdir()
    (given / "test").symlink_to(work / "data" / "parity" / "test")
    shutil.copy(work / "data" / "parity" / "sample_submission.csv", given)
    shutil.move(configs / "metrics", work / "moved")
    try:
        podium("predict", "--bundle", str(bundle), "--data", str(given), "--out", "sub.csv")
    finally:
        shutil.move(work / "moved", configs / "metrics")
    assert (work / "sub.csv").read_bytes() == submission.read_bytes()

    tampered = work / "tampered"  # a changed copy is refused in one line
    shutil.copytree(bundle, tampered)
    with open(tampered / "metrics" / "pauc.py", "a") as f:
        f.write("\n# edited\n")
    capsys.readouterr()
    assert main(["predict", "--bundle", str(tampered), "--data", str(given), "--out", "t.csv"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "metrics/pauc.py: sha256 differs" in err

    # the metric file changed: the units scored with it refuse, naming the key
    with open(configs / "metrics" / "pauc.py", "a") as f:
        f.write("\n# changed\n")
    assert main(["oof", "-c", str(configs / "base.yaml")]) == 2
    err = capsys.readouterr().err.strip()
    assert "competition.metric.sha256 differs" in err and "\n" not in err
