"""The notebooks run top to bottom on tiny artifacts made here: the EDA on the demo
competition, the OOF analysis on a trained tiny experiment's oof.parquet/scores.json. Their
parameters come from environment variables, which the kernel inherits."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from podium.stages import oof as oof_stage

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def execute(name: str, workdir: Path, then: str | None = None) -> nbformat.NotebookNode:
    """Run a notebook top to bottom in `workdir`; `then`: a code cell run after its last
    (a test reads the notebook's own figures through it)."""
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    if then is not None:
        nb.cells.append(nbformat.v4.new_code_cell(then))
    NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}
    ).execute()
    return nb


def images_shown(nb: nbformat.NotebookNode) -> int:
    return sum(
        "image/png" in out.get("data", {}) for cell in nb.cells for out in cell.get("outputs", [])
    )


def text_of(nb: nbformat.NotebookNode) -> str:
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts.append(out.get("text", ""))
            parts.append(out.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


@pytest.mark.parametrize("name", ["eda.ipynb", "oof_analysis.ipynb"])
def test_notebooks_are_committed_without_outputs(name):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)


def test_eda_runs_on_the_demo_competition(tiny_config, demo_data_root, tmp_path, monkeypatch):
    from podium.stages import folds

    folds.run(tiny_config())  # so the folds section has a table to show
    monkeypatch.setenv(
        "PODIUM_CONFIG", str(NOTEBOOKS.parent / "configs" / "digits" / "resnet10t.yaml")
    )
    monkeypatch.setenv(
        "PODIUM_OVERRIDES",
        f"paths.data={demo_data_root} paths.runs={tmp_path / 'runs'} folds.n_splits=2",
    )
    monkeypatch.setenv("PODIUM_SAMPLE", "60")
    nb = execute("eda.ipynb", tmp_path)
    out = text_of(nb)
    assert "1437 rows" in out and "360 rows" in out
    assert images_shown(nb) >= 4  # balance, images per class, means, brightness


def test_oof_analysis_runs_on_a_trained_experiment(trained_copy, tmp_path, monkeypatch):
    oof_stage.run(trained_copy)
    monkeypatch.setenv("PODIUM_RUN_DIR", str(trained_copy.run_dir))
    monkeypatch.setenv("PODIUM_HARDEST", "8")
    nb = execute("oof_analysis.ipynb", tmp_path)
    out = text_of(nb)
    assert "CV accuracy" in out and "merged TTA" in out and "gain vs identity" in out
    assert images_shown(nb) >= 3  # confusion matrix, calibration, hardest examples
