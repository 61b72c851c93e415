"""Plug-in metrics (`competition.metric: {function: ...}`): both function forms, `needs`,
kwargs, direction, where a file is read from, a module reference, the sha256 in the config,
and every way the user's code can fail, as one line naming the file and function (through
`podium score` too, as a user sees it)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from factories import write_competition
from podium.cli import main
from podium.config import from_dict, load_config
from podium.errors import ConfigError
from podium.metrics.plugin import load_metric
from podium.tasks import build_task, metric_of
from podium.tasks.kaggle_frames import kaggle_frames

ROOT = Path(__file__).resolve().parents[2]
PAUC = ROOT / "examples" / "metrics" / "isic_pauc.py"

ARRAYS = """
import numpy as np

def score(y, pred, power=1):
    # the share of rows whose positive probability is on the right side of 0.5
    return float(np.mean((pred[:, 1] > 0.5) == (y == 1)) ** power)
"""

KAGGLE = """
def score(solution, submission, row_id_column_name, offset=0.0):
    s = solution.set_index(row_id_column_name)
    p = submission.set_index(row_id_column_name).loc[s.index]
    col = s.columns[0]
    return float(((p[col] > 0.5).astype(int) == s[col]).mean()) + offset
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def binary_task(tmp_path: Path, metric: dict, config_dir: Path | None = None):
    """A binary task on labels 0/1 with the metric `metric`, the config read from
    `config_dir/config.yaml`."""
    config_dir = config_dir or tmp_path
    path = config_dir / "config.yaml"
    comp = {"name": "toy", "task": "binary", "submission_format": "proba", "metric": metric}
    path.write_text(yaml.safe_dump({"name": "toy", "competition": comp}))
    cfg = load_config(path)
    train = pd.DataFrame({"id": [f"r{i}" for i in range(8)], "label": list("01010011")})
    return cfg, build_task(cfg.competition, train, tmp_path / "train.csv")


Y = np.array([0, 1, 0, 1, 0, 0, 1, 1])
P1 = np.array([0.2, 0.9, 0.6, 0.7, 0.1, 0.3, 0.4, 0.8])  # two rows on the wrong side
PRED = np.stack([1 - P1, P1], axis=1)


def test_arrays_form_with_kwargs_direction_and_name(tmp_path):
    write(tmp_path / "metrics" / "acc.py", ARRAYS)
    spec = {
        "function": "metrics/acc.py:score",
        "direction": "minimize",
        "needs": "decisions",
        "kwargs": {"power": 2},
    }
    cfg, task = binary_task(tmp_path, spec)
    metric = task.metric
    assert metric(Y, PRED) == pytest.approx(0.75**2)
    assert (metric.name, metric.direction, metric.needs) == ("score", "minimize", "decisions")
    assert metric.better(0.1, 0.2) and not metric.better(0.3, 0.2)
    assert metric.source == f"{tmp_path / 'metrics' / 'acc.py'}:score"
    named = metric_of(binary_task(tmp_path, {**spec, "name": "acc2"})[0].competition)
    assert (named.name, named.direction) == ("acc2", "minimize")  # tune's direction


def test_kaggle_form_gets_the_tables_podium_submit_would_write(tmp_path):
    write(tmp_path / "k.py", KAGGLE)
    spec = {"function": "k.py:score", "direction": "maximize", "needs": "probabilities"}
    _, task = binary_task(tmp_path, {**spec, "kwargs": {"offset": 1.0}})
    assert task.metric(Y, PRED) == pytest.approx(1.75)
    solution, submission, id_column = kaggle_frames(task, Y, PRED)
    assert id_column == "id" and list(solution.columns) == ["id", "label"]
    assert solution["label"].tolist() == Y.tolist()  # numbers, as pandas reads train.csv
    np.testing.assert_allclose(submission["label"], P1)  # the positive class's probability
    task.submission_columns = lambda: ["target"]  # what the competition's sample says
    assert list(kaggle_frames(task, Y, PRED)[1].columns) == ["id", "target"]


def test_the_isic_example_in_kaggle_form_is_the_partial_auc(tmp_path):
    spec = {"function": str(PAUC) + ":score", "direction": "maximize", "needs": "probabilities"}
    _, task = binary_task(tmp_path, spec)
    perfect = np.stack([1 - Y, Y], axis=1).astype(float)
    assert task.metric(Y, perfect) == pytest.approx(0.2)
    _, task = binary_task(tmp_path, {**spec, "kwargs": {"min_tpr": 0.5}})
    assert task.metric(Y, perfect) == pytest.approx(0.5)


@pytest.mark.parametrize("needs", ["probabilities", "decisions", "values"])
def test_needs_is_recorded(tmp_path, needs):
    write(tmp_path / "acc.py", ARRAYS)
    _, task = binary_task(
        tmp_path, {"function": "acc.py:score", "direction": "maximize", "needs": needs}
    )
    assert task.metric.needs == needs
    assert task.metric.needs_probabilities == (needs == "probabilities")


def test_a_file_is_read_from_the_config_files_folder_and_hashed(tmp_path, monkeypatch):
    configs = tmp_path / "configs"
    write(configs / "metrics" / "acc.py", ARRAYS)
    monkeypatch.chdir(tmp_path)  # not the working folder: the config's
    spec = {"function": "metrics/acc.py:score", "direction": "maximize", "needs": "decisions"}
    cfg, task = binary_task(tmp_path, spec, config_dir=configs)
    assert cfg.base_dir == configs

    digest = hashlib.sha256((configs / "metrics" / "acc.py").read_bytes()).hexdigest()
    assert cfg.competition.metric.sha256 == digest
    (configs / "metrics" / "acc.py").write_text(ARRAYS + "\n# changed\n")
    assert load_config(configs / "config.yaml").competition.metric.sha256 != digest
    # a config made from it (a tune trial) reads the file from the same folder
    again = from_dict(cfg.resolved(), source="trial 0", base_dir=cfg.base_dir)
    assert again.competition.metric.file() == configs / "metrics" / "acc.py"


def test_a_module_reference(tmp_path, monkeypatch):
    write(tmp_path / "mypkg" / "__init__.py", "")
    write(tmp_path / "mypkg" / "scoring.py", ARRAYS)
    monkeypatch.syspath_prepend(str(tmp_path))
    spec = {"function": "mypkg.scoring:score", "direction": "maximize", "needs": "decisions"}
    cfg, task = binary_task(tmp_path, spec)
    assert task.metric(Y, PRED) == pytest.approx(0.75)
    assert cfg.competition.metric.sha256 is not None  # the module's file is hashed too


BROKEN = {
    "raises": ("def score(y, pred):\n    raise ValueError('boom')\n", "raised ValueError: boom"),
    "nan": ("def score(y, pred):\n    return float('nan')\n", "returned nan"),
    "text": ("def score(y, pred):\n    return 'high'\n", "returned str 'high', not a number"),
    "none": ("def score(y, pred):\n    return None\n", "returned NoneType None, not a number"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_function_is_one_line_naming_file_and_function(tmp_path, case):
    code, said = BROKEN[case]
    path = write(tmp_path / f"bad_{case}.py", code)
    metric = load_metric(f"bad_{case}.py:score", True, "decisions", base=tmp_path)
    with pytest.raises(ConfigError) as e:
        metric(Y, PRED)
    message = str(e.value)
    assert "\n" not in message and f"{path}:score" in message and said in message


@pytest.mark.parametrize(
    ("files", "function", "said"),
    [
        ({}, "missing.py:score", "missing.py not found"),
        ({"imp.py": "raise ImportError('no torch here')\n"}, "imp.py:score", "importing"),
        ({"notfn.py": "score = 3\n"}, "notfn.py:score", "notfn.py:score is not a function"),
        ({"other.py": ARRAYS}, "other.py:scorer", "other.py:scorer is not a function"),
        ({}, "no_such_package_xyz.mod:score", "cannot import 'no_such_package_xyz.mod'"),
    ],
)
def test_loading_errors_are_one_line(tmp_path, files, function, said):
    for name, code in files.items():
        write(tmp_path / name, code)
    with pytest.raises(ConfigError) as e:
        load_metric(function, True, "decisions", base=tmp_path)
    assert "\n" not in str(e.value) and said in str(e.value)


def test_kaggle_form_where_the_task_cannot_build_the_tables(tmp_path):
    write(tmp_path / "k.py", KAGGLE)
    with pytest.raises(ConfigError, match="takes Kaggle's"):
        load_metric("k.py:score", True, "decisions", base=tmp_path, frames=None)


# ---- through the CLI, as a user sees it -------------------------------------------------------


@pytest.fixture
def scored(tmp_path):
    """A toy binary competition with a solution and a submission, and a config to write."""
    labels = ["0", "1"] * 6
    comp = write_competition(tmp_path / "data", labels, n_test=6)
    test_ids = [f"t{i:03d}" for i in range(6)]
    pd.DataFrame({"id": test_ids, "label": [0.5] * 6}).to_csv(
        comp / "sample_submission.csv", index=False
    )
    pd.DataFrame({"id": test_ids, "label": [0, 1, 0, 1, 1, 0]}).to_csv(
        comp / "solution.csv", index=False
    )
    sub = tmp_path / "sub.csv"
    pd.DataFrame({"id": test_ids, "label": [0.1, 0.8, 0.3, 0.9, 0.25, 0.2]}).to_csv(
        sub, index=False
    )

    def config(function: str) -> Path:
        path = tmp_path / "configs" / "toy.yaml"
        path.parent.mkdir(exist_ok=True)
        metric = {"function": function, "direction": "maximize", "needs": "probabilities"}
        competition = {"name": "toy", "task": "binary", "submission_format": "proba"}
        body = {
            "competition": {**competition, "metric": metric},
            "paths": {"data": str(tmp_path / "data"), "runs": str(tmp_path / "runs")},
        }
        path.write_text(yaml.safe_dump(body))
        return path

    return config, sub


def test_podium_score_prints_the_plugin_metric(scored, capsys, tmp_path):
    config, sub = scored
    write(config("").parent / "metrics" / "pauc.py", PAUC.read_text())
    path = config("metrics/pauc.py:score")
    assert main(["score", "-c", str(path), "--submission", str(sub)]) in (0, None)
    out = capsys.readouterr().out
    solution = pd.read_csv(tmp_path / "data" / "toy" / "solution.csv")
    expected = load_metric(
        f"{PAUC}:score",
        True,
        "probabilities",
        frames=lambda y, p: (solution, pd.read_csv(sub), "id"),
    )
    assert f"score sub.csv: score  all {expected(Y, PRED):.4f}" in out
    assert 0.02 < expected(Y, PRED) < 0.2  # one positive below a negative: not perfect


@pytest.mark.parametrize("case", ["raises", "nan", "text"])
def test_podium_score_reports_a_broken_metric_in_one_line(scored, capsys, case):
    config, sub = scored
    code, said = BROKEN[case]
    write(config("").parent / f"bad_{case}.py", code)
    path = config(f"bad_{case}.py:score")
    assert main(["score", "-c", str(path), "--submission", str(sub)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err
    assert err.startswith("podium score: error: competition.metric: ")
    assert f"bad_{case}.py:score" in err and said in err


def test_podium_score_in_a_process_names_a_missing_file(scored):
    config, sub = scored
    path = config("metrics/gone.py:score")
    run = subprocess.run(
        [sys.executable, "-m", "podium", "score", "-c", str(path), "--submission", str(sub)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert run.returncode == 2
    err = run.stderr.strip()
    assert err.count("\n") == 0 and "Traceback" not in err
    assert "gone.py not found" in err and "metrics/gone.py:score" in err
