"""The demo's ensemble config end to end at tiny scale (one epoch, two folds, one seed),
through the same entry points as `make folds train infer ensemble score`: every member is
trained and predicted, the stack is built on their folds and a validated submission is
written and scored."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from podium.artifacts import read_json
from podium.cli import main
from podium.config import load_config

ROOT = Path(__file__).resolve().parents[2]
ENSEMBLE = ROOT / "configs" / "digits" / "ensemble.yaml"


def test_make_folds_train_infer_ensemble_score_on_the_demo_stack(tmp_path, demo_data_root):
    tiny = [
        f"paths.data={demo_data_root}",
        f"paths.runs={tmp_path / 'runs'}",
        f"paths.submissions={tmp_path / 'submissions'}",
        "folds.n_splits=2",
        "train.epochs=1",
        "train.seeds=[0]",
        "train.progress=false",
        "infer.tta=[identity]",
        "ensemble.meta.seeds=[0]",
    ]
    for stage in ("folds", "train", "infer", "ensemble", "score"):
        assert main([stage, "-c", str(ENSEMBLE), *tiny]) == 0, stage
    cfg = load_config(ENSEMBLE, tiny)
    scores = read_json(cfg.run_dir / "scores.json")
    members = ["resnet10t", "resnet18d", "convnext", "pixels_svc"]
    assert set(members) < set(scores["candidates"])
    assert {"mean", "blend", "logit_blend", "stack"} < set(scores["candidates"])
    assert 0.0 < scores["nested_selection"]["accuracy"] <= 1.0
    submissions = list((tmp_path / "submissions").glob("digits-stack-cv*.csv"))
    assert len(submissions) == 1  # `score` scored the ensemble's submission, not a new one
    record = read_json(cfg.run_dir / "submission.json")
    assert Path(record["path"]) == submissions[0]

    # the quality benchmark reads the same run (exit 1 only if the tiny stack loses)
    bench = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "quality.py"), "-c", str(ENSEMBLE), *tiny],
        capture_output=True,
        text=True,
    )
    assert bench.returncode in (0, 1), bench.stderr
    assert (
        "nested selection (choice per fold)" in bench.stdout and "SVC(gamma=0.001" in bench.stdout
    )


def test_an_ensembles_own_sections_stay_off_its_members(tmp_path, demo_data_root):
    """`podium tune -c tune_meta.yaml tune.n_trials=2`: the tune override is the meta study's,
    not its members' (a member with a `tune:` section would be refused)."""
    from podium import pipeline

    request = pipeline.Request(
        config=ROOT / "configs" / "digits" / "tune_meta.yaml",
        overrides=[f"paths.data={demo_data_root}", "tune.n_trials=2", "ensemble.meta.seeds=[0]"],
    )
    p = pipeline.Pipeline(request)
    members = p.members(p.load(request.config))
    assert [m.name for m in members] == ["resnet10t", "resnet18d", "convnext", "pixels_svc"]
    assert all(m.tune is None and m.ensemble is None for m in members)


def test_make_demo_runs_the_hard_digits_stack_and_keeps_its_invariants(tmp_path):
    """`make demo` (configs/digits_hard/ensemble.yaml) at tiny scale, run by the benchmark that
    makes the README's demo table (benchmarks/demo_spread.py, one fold seed): the hard demo's
    data is written, every member of every kind trains on the same folds, the stack is among
    the candidates and scored by nested selection, the submission is validated and scored on
    both halves of the hidden test, and the table is printed. Its figures are the README's
    business, not this test's: at one epoch only the chain's invariants hold."""
    hard = ROOT / "configs" / "digits_hard" / "ensemble.yaml"
    assert main(["demo-data", "--task", "hard", "--data", str(tmp_path / "data")]) == 0
    tiny = [
        f"paths.data={tmp_path / 'data'}",
        "folds.n_splits=2",
        "train.epochs=1",
        "ensemble.meta.seeds=[0]",
    ]
    bench = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "demo_spread.py"), "-c", str(hard)]
        + ["--seeds", "42", "--runs", str(tmp_path / "spread"), *tiny],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"},
    )
    assert bench.returncode == 0, bench.stderr[-3000:]
    runs = tmp_path / "spread" / "seed42"
    cfg = load_config(hard, [*tiny, f"paths.runs={runs}"])
    scores = read_json(cfg.run_dir / "scores.json")
    members = {"resnet10t", "resnet10t_24", "convnext", "hog_svc"}
    assert members < set(scores["candidates"]) and "stack" in scores["candidates"]
    assert 0.0 < scores["nested_selection"]["accuracy"] <= 1.0
    folds = {read_json(cfg.comp_dir / m / "run.json")["folds_hash"] for m in members}
    assert len(folds) == 1  # one folds.csv for every member
    scored = [line for line in bench.stdout.splitlines() if line.startswith("score digits_hard")]
    assert len(scored) == 1 and " public " in scored[0] and " private " in scored[0]
    assert "hidden test" in bench.stdout and "over 1 fold seeds (mean +- sd):" in bench.stdout
    assert list((runs / "submissions").glob("digits_hard-stack-cv*.csv"))
