"""`ensemble.blend.shrink`: the fitted blends' weights moved towards equal in every fold and
for the test, as a user sets it on the command line and reads it in the report (#23 item 8:
OOF-fitted weights are applied to fold-averaged test predictions)."""

from __future__ import annotations

import numpy as np
import pytest
from test_ensemble import Project, upstream  # noqa: F401 (the fixture)

from podium.artifacts import read_json
from podium.cli import main
from podium.config import load_config
from podium.ensemble.blend import blend_cv, shrink_weights
from podium.stages.demo_data import write_demo
from podium.tasks.blending import fit_simplex_weights, weighted
from podium.tasks.capabilities import Blend


def mse(y: np.ndarray, pred: np.ndarray) -> float:
    return float(np.mean((y - pred) ** 2))


def test_shrink_moves_weights_towards_equal_of_the_same_total():
    w = np.array([0.9, 0.1, 0.0])
    np.testing.assert_allclose(shrink_weights(w, 0.0), w)
    np.testing.assert_allclose(shrink_weights(w, 1.0), np.full(3, 1 / 3))
    np.testing.assert_allclose(shrink_weights(w, 0.5), (w + 1 / 3) / 2)
    # log-probability weights keep their scale (the temperature the fit chose)
    assert shrink_weights(np.array([3.0, 1.0]), 1.0).tolist() == [2.0, 2.0]
    # per-label weights (members x labels): towards equal within each label
    per_label = np.array([[1.0, 0.2], [0.0, 0.8]])
    np.testing.assert_allclose(shrink_weights(per_label, 1.0), [[0.5, 0.5], [0.5, 0.5]])


def test_every_fold_and_the_test_use_the_shrunk_weights():
    rng = np.random.default_rng(0)
    y = rng.normal(size=300)
    fold = np.arange(300) % 3
    good, poor = (y + rng.normal(0, 0.3, 300))[:, None], (y + rng.normal(0, 2, 300))[:, None]
    tests = [good[:7], poor[:7]]
    simplex = Blend(lambda p, t: fit_simplex_weights(p, t[:, None], mse), weighted, "weights")
    oof0, test0, w0 = blend_cv([good, poor], tests, y, fold, simplex)
    oof5, test5, w5 = blend_cv([good, poor], tests, y, fold, simplex, shrink=0.5)
    np.testing.assert_allclose(w5, (w0 + 0.5) / 2, atol=1e-9)
    for k in range(3):
        rows = fold == k
        np.testing.assert_allclose(oof5[rows], weighted([good[rows], poor[rows]], w5[k]))
    np.testing.assert_allclose(test5, weighted(tests, w5.mean(axis=0)))
    assert not np.allclose(test5, test0)


@pytest.fixture
def regression(tmp_path) -> Project:
    write_demo(tmp_path / "data", "regression")
    project = Project(tmp_path, tmp_path / "data", "digits_regression", {"prior": "blend"})
    rng = np.random.default_rng(5)
    y = project.comp.targets[:, 0]
    n_test = len(project.comp.test_ids)
    for name, sd in (("alpha", 0.5), ("beta", 1.5)):
        oof, test = y + rng.normal(0, sd, len(y)), rng.normal(4.5, 3, n_test)
        project.member(name, oof[:, None], test[:, None])
    return project


def test_the_cli_shrinks_the_blend_and_the_report_says_so(regression, upstream, capsys):  # noqa: F811
    path = regression.ensemble_yaml(["alpha", "beta"], select="blend")
    assert main(["ensemble", "-c", str(path)]) == 0
    cfg = load_config(path)
    plain = read_json(cfg.run_dir / "scores.json")["candidates"]["blend"]
    report = (cfg.run_dir / "report.md").read_text()
    assert plain["shrink"] == 0.0 and "shrunk" not in plain["weighting"]
    assert "Blend weights (blend): fitted on the OOF rows" in report and "shrunk" not in report

    assert main(["ensemble", "-c", str(path), "ensemble.blend.shrink=0.5"]) == 0
    shrunk = read_json(cfg.run_dir / "scores.json")["candidates"]["blend"]
    report = (cfg.run_dir / "report.md").read_text()
    assert shrunk["shrink"] == 0.5
    assert "shrunk 0.50 of the way towards equal (ensemble.blend.shrink)" in report
    assert "(shrunk 0.50 towards equal)" in report  # the candidate's note in the table
    for member in ("alpha", "beta"):
        w0, w5 = (
            np.array(plain["weights_by_fold"][member]),
            np.array(shrunk["weights_by_fold"][member]),
        )
        np.testing.assert_allclose(w5, (w0 + 0.5) / 2, atol=1e-9)
    assert min(plain["weights_by_fold"]["alpha"]) > 0.8  # the better member, before shrinking


def test_a_shrink_outside_zero_to_one_is_one_line(regression, upstream, capsys):  # noqa: F811
    path = regression.ensemble_yaml(["alpha", "beta"])
    assert main(["ensemble", "-c", str(path), "ensemble.blend.shrink=1.5"]) == 2
    err = capsys.readouterr().err
    assert "ensemble.blend.shrink" in err and len(err.strip().splitlines()) == 1
