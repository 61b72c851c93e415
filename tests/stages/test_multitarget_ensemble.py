"""The ensemble of a multitarget task on synthetic members (prediction files written through
`podium.predictions`, no CNN training): per-target blends beat each member, no XGBoost stack
is built (and `select: stack` is refused in one line), the report, scores.json and the
submission's (target, class) columns through `podium ensemble`'s pipeline and `podium submit`,
and `podium predict --bundle`'s recombination of the chosen blend."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from podium import pipeline
from podium.artifacts import read_json
from podium.bundle.member_runs import MemberPredictions
from podium.bundle.predict import combine
from podium.cli import main
from podium.competition import Competition
from podium.config import ConfigError, load_config
from podium.predictions import OOF, TEST, read_oof, read_test, write_oof, write_test
from podium.stages import ensemble
from podium.stages import folds as folds_stage
from podium.stages.demo_data import write_demo
from podium.validate import validate

ROOT = Path(__file__).resolve().parents[2]
BASE = ROOT / "configs/digits_multitarget/resnet10t.yaml"
WIDTHS = (2, 3)  # parity (even, odd), mod3 (0, 1, 2)


def write_yaml(path: Path, data: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data))
    return path


def noisy(labels: np.ndarray, strengths: tuple[float, float], rng) -> np.ndarray:
    """Each target's softmax leaning towards its label by its strength (a missing label -1:
    towards a random class), with per-row noise."""
    blocks = []
    for j, (width, strength) in enumerate(zip(WIDTHS, strengths, strict=True)):
        lab = np.where(labels[:, j] >= 0, labels[:, j], rng.integers(0, width, len(labels)))
        logits = rng.normal(size=(len(labels), width))
        logits[np.arange(len(labels)), lab] += strength
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        blocks.append(e / e.sum(axis=1, keepdims=True))
    return np.concatenate(blocks, axis=1)


class Project:
    """The multitarget demo, its folds, member configs and synthetic member runs."""

    def __init__(self, tmp: Path) -> None:
        write_demo(tmp / "data", task="multitarget")
        self.dir = tmp
        self.paths = {k: str(tmp / k) for k in ("data", "runs", "submissions")}
        cfg = load_config(self.ensemble_yaml(["none"]))
        folds_stage.run(cfg)
        self.comp = Competition.from_config(cfg)
        self.task = self.comp.task
        self.fold = pd.read_csv(cfg.folds_path, dtype={"id": str})["fold"].to_numpy()
        self.runs = Path(cfg.paths.runs) / "digits_multitarget"

    def ensemble_yaml(self, members: list[str], **section) -> Path:
        body = {"members": [f"{m}.yaml" for m in members], **section}
        cfg = {"extends": str(BASE), "name": "mt_ens", "paths": self.paths, "ensemble": body}
        return write_yaml(self.dir / "configs" / "ensemble.yaml", cfg)

    def member(self, name: str, strengths: tuple[float, float], rng) -> None:
        cfg = {"extends": str(BASE), "name": name, "paths": self.paths}
        write_yaml(self.dir / "configs" / f"{name}.yaml", cfg)
        run, comp, task = self.runs / name, self.comp, self.task
        oof = noisy(comp.targets, strengths, rng)
        test_y = np.zeros((len(comp.test_ids), 2), np.int64)
        write_oof(run / OOF, task, comp.train_ids, self.fold, task.target_frame(comp.train), oof)
        write_test(run / TEST, task, comp.test_ids, noisy(test_y, strengths, rng))


@pytest.fixture
def project(tmp_path) -> Project:
    return Project(tmp_path)


@pytest.fixture
def upstream(monkeypatch) -> None:
    """The members' train / oof / infer stages, skipped: their prediction files are there."""
    for stage in ("train", "oof", "infer"):
        monkeypatch.setattr(getattr(pipeline, f"{stage}_stage"), "run", lambda *a, **k: None)


def test_per_target_blends_beat_each_member_and_submit_every_column(project, upstream, capsys):
    rng = np.random.default_rng(0)
    # alpha knows parity, beta knows mod3: only weights per target get the best of both
    project.member("alpha", (3.0, 0.3), rng)
    project.member("beta", (0.3, 3.0), rng)
    path = project.ensemble_yaml(["alpha", "beta"])

    submission = pipeline.run("ensemble", pipeline.Request(config=path))

    cfg = load_config(path)
    out = cfg.run_dir
    scores = read_json(out / "scores.json")
    cands = scores["candidates"]
    assert set(cands) == {"alpha", "beta", "mean", "blend", "logit_blend"}  # no stack
    loss = {n: c["weighted_log_loss"] for n, c in cands.items()}
    assert scores["chosen"] in ("blend", "logit_blend")
    assert max(loss["blend"], loss["logit_blend"]) < min(loss["alpha"], loss["beta"], loss["mean"])
    # weights per target: alpha leads on parity, beta on mod3, in every fold
    w = cands["blend"]["weights_by_fold"]
    assert all(a[0] > 0.5 > a[1] for a in w["alpha"]) and all(b[1] > 0.5 for b in w["beta"])
    vs = scores["vs_best_member"]  # the metric's paired bootstrap, no McNemar count
    assert vs["mcnemar_p"] is None and vs["gains"]["weighted_log_loss"]["observed"] > 0
    nested = scores["nested_selection"]
    assert set(nested["picked_by_fold"].values()) <= {"blend", "logit_blend", "mean"}
    assert nested["refitted"] is True and nested["weighted_log_loss"] > 0
    report = (out / "report.md").read_text()
    assert "No XGBoost stack" in report and "| blend |" in report
    assert not (out / "meta").exists()

    # the chosen candidate's OOF rows: each target's block sums to one
    task, comp = project.task, project.comp
    oof = read_oof(out / OOF, task, comp.train_ids, project.fold)
    np.testing.assert_allclose(oof[:, :2].sum(axis=1), 1, atol=1e-5)
    np.testing.assert_allclose(oof[:, 2:].sum(axis=1), 1, atol=1e-5)
    # the submission: the sample's (target, class) columns, the chosen blend's test rows
    sub = pd.read_csv(submission, dtype={"id": str})
    sample = pd.read_csv(cfg.data_dir / "sample_submission.csv", dtype={"id": str})
    assert list(sub.columns) == list(sample.columns)
    assert list(sub["id"]) == list(sample["id"])
    np.testing.assert_allclose(sub[["mod3_0", "mod3_1", "mod3_2"]].sum(axis=1), 1, atol=1e-4)
    parity = sub[["parity_even", "parity_odd"]].to_numpy()
    assert ((parity >= 0) & (parity <= 1)).all()
    assert str(submission) in capsys.readouterr().out
    # `podium submit` on the ensemble's config writes the same columns and numbers
    assert main(["submit", "-c", str(path)]) == 0
    again_sub = sorted(Path(cfg.paths.submissions).glob("*.csv"))[-1]
    pd.testing.assert_frame_equal(pd.read_csv(again_sub, dtype={"id": str}), sub)

    # `podium predict --bundle` recombines the members' test rows with the per-target weights
    # (K folds x M members x T targets) exactly as the ensemble did
    names = ["alpha", "beta"]
    # (these members have no per-fold test predictions: the fold-averaged ones, as the ensemble)
    tests = [
        MemberPredictions(read_test(project.runs / n / TEST, task, comp.test_ids), {})
        for n in names
    ]
    chosen = {"kind": "blend", "chosen": scores["chosen"]}
    chosen["weights_by_fold"] = cands[scores["chosen"]]["weights_by_fold"]
    again = combine({"combination": chosen}, names, tests, comp, out)
    np.testing.assert_allclose(again, read_test(out / TEST, task, comp.test_ids), atol=1e-6)


def test_select_stack_is_refused_for_a_task_without_a_meta_model(project):
    rng = np.random.default_rng(1)
    project.member("alpha", (3.0, 0.3), rng)
    cfg = load_config(project.ensemble_yaml(["alpha"], select="stack"))

    with pytest.raises(ConfigError, match=r"ensemble\.select: .*no XGBoost stack.*'blend'"):
        validate(cfg)
    # the same one line where the stage itself is called
    with pytest.raises(ConfigError, match="not a candidate"):
        ensemble.run(cfg)
