"""notebooks/oof_values.ipynb (regression and ordinal OOF analysis) runs top to bottom on a
tiny ordinal experiment: predicted vs true, residuals, the grades decided by the cut-points
fitted without each fold, and the worst rows' images."""

from __future__ import annotations

from pathlib import Path

import nbformat

from podium.config import load_config
from podium.pipeline import Request, run
from podium.stages.demo_data import write_demo
from test_notebooks import execute, images_shown, text_of

ROOT = Path(__file__).resolve().parents[1]


def test_notebook_is_committed_without_outputs():
    nb = nbformat.read(ROOT / "notebooks" / "oof_values.ipynb", as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)


def test_oof_values_runs_on_an_ordinal_experiment(tmp_path, monkeypatch):
    write_demo(tmp_path / "data", task="ordinal")
    overrides = [
        "model.name=test_convnext",
        "train.epochs=1",
        "folds.n_splits=2",
        "train.progress=false",
        "infer.tta=[identity]",
        f"paths.data={tmp_path / 'data'}",
        f"paths.runs={tmp_path / 'runs'}",
    ]
    config = ROOT / "configs/digits_ordinal/resnet10t.yaml"
    run("oof", Request(config=config, overrides=overrides))
    monkeypatch.setenv("PODIUM_RUN_DIR", str(load_config(config, overrides).run_dir))
    monkeypatch.setenv("PODIUM_WORST", "4")
    nb = execute("oof_values.ipynb", tmp_path)
    out = text_of(nb)
    assert "RMSE per target" in out and "cut-points for the submission" in out
    assert images_shown(nb) >= 4  # predicted vs true, residuals, grades, worst rows
