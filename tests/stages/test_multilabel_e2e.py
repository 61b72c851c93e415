"""The multilabel demo at tiny scale, end to end: demo-data --task multilabel, folds (iterative
stratification), two CNN members (test_convnext, 1 epoch, 2 folds) and the one-vs-rest
logistic member, oof, infer, the ensemble (blends and the multi-label XGBoost stack), submit
(tags at the thresholds fitted on the OOF rows) and score on the hidden solution; lr-find; and
the multilabel OOF notebook on the ensemble's run."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pandas as pd
from nbclient import NotebookClient

from factories import tiny_task_overrides
from podium.config import load_config
from podium.experiment import Experiment
from podium.pipeline import Request, run
from podium.stages import lr_find
from podium.stages.demo_data import write_demo
from podium.submission import read_submission

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "configs/digits_multilabel"
NOTEBOOK = ROOT / "notebooks/oof_multilabel.ipynb"


def tiny(tmp_path: Path) -> list[str]:
    return tiny_task_overrides(tmp_path, "multilabel")


def test_demo_data_has_tags_and_empty_rows(tmp_path):
    root = write_demo(tmp_path, task="multilabel")
    train = pd.read_csv(root / "train.csv", dtype=str, keep_default_na=False)
    assert list(train.columns) == ["id", "tags"]
    tags = train["tags"].str.split().explode().dropna()
    assert set(tags) == {"even", "prime", "big", "loop", "bold"}
    assert (train["tags"] == "").sum() > 0  # a thin 1 has no tag
    solution = pd.read_csv(root / "solution.csv", dtype=str, keep_default_na=False)
    assert list(solution.columns) == ["id", "tags", "Usage"]


def test_notebook_is_committed_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)


def test_tiny_ensemble_end_to_end(tmp_path, monkeypatch):
    overrides = tiny(tmp_path)
    config = CONFIGS / "ensemble.yaml"
    scores = run("score", Request(config=config, overrides=overrides))
    assert 0.5 < scores["all"] <= 1.0  # f2_samples of the tags against solution.csv
    cfg = load_config(config, overrides)
    ensemble = json.loads((cfg.run_dir / "scores.json").read_text())
    assert ensemble["metric"] == "f2_samples"
    assert {"mean", "blend", "label_blend", "logit_blend", "stack"} <= set(ensemble["candidates"])
    fitted = ensemble["final"]["decision"]
    assert fitted["kind"] == "thresholds"
    assert fitted["labels"] == ["big", "bold", "even", "loop", "prime"]
    assert fitted["per_label"] and len(fitted["fold_params"]) == 2
    assert ensemble["cv"] == fitted["cv_score"]  # the CV is the honestly thresholded F
    sub = read_submission(next((tmp_path / "subs").glob("digits_multilabel-stack-*.csv")))
    assert list(sub.columns) == ["id", "tags"]
    member = load_config(CONFIGS / "resnet10t.yaml", overrides)
    oof = pd.read_parquet(member.run_dir / "oof.parquet")
    assert list(oof.columns) == ["id", "fold", "target", *[f"p_{t}" for t in fitted["labels"]]]
    member_scores = json.loads((member.run_dir / "scores.json").read_text())
    assert "decision" in member_scores["views"]["identity"]  # per view, each fitted
    result = lr_find.run(Experiment(member), steps=8)
    assert len(result.lrs) == 8 and result.suggestion > 0

    monkeypatch.setenv("PODIUM_ROOT", str(ROOT))
    monkeypatch.setenv("PODIUM_RUN_DIR", str(cfg.run_dir))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    text = "\n".join(
        out.get("text", "") + out.get("data", {}).get("text/plain", "")
        for cell in nb.cells
        for out in cell.get("outputs", [])
    )
    assert "thresholds for the submission" in text and "average precision" in text
    assert any("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))
