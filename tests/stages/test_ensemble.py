"""The ensemble stage on synthetic members (oof/test parquet files written by the test, no
CNN training): honest meta CV, refused members, the report, reloadable meta-models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from podium.artifacts import ArtifactError, file_hash, proba_columns, read_json, write_json
from podium.competition import Competition
from podium.config import ConfigError, load_config
from podium.ensemble.features import build_level2
from podium.ensemble.schema import parse_ensemble
from podium.ensemble.stack import fit_meta_model, load_meta_model, prior_margin
from podium.stages import ensemble
from podium.stages import folds as folds_stage

ROOT = Path(__file__).resolve().parents[2]
# small, fast meta-models: the tests check behaviour, not the best score
FAST_META = {
    "seeds": [0],
    "early_stopping_rounds": 10,
    "n_jobs": 2,
    "params": {"n_estimators": 60, "learning_rate": 0.3, "max_depth": 3},
}


def write_yaml(path: Path, data: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data))
    return path


class Project:
    """A folder with the demo data, its folds, member configs and synthetic member runs."""

    def __init__(self, tmp_path: Path, data_root: Path) -> None:
        self.dir = tmp_path
        self.paths = {
            "data": str(data_root),
            "runs": str(tmp_path / "runs"),
            "submissions": str(tmp_path / "submissions"),
        }
        self.base = str(ROOT / "configs/digits/base.yaml")
        cfg = load_config(self.ensemble_yaml([]), [])
        folds_stage.run(cfg)
        self.comp = Competition.from_config(cfg)
        self.folds = pd.read_csv(cfg.folds_path, dtype={"id": str})
        self.folds_hash = file_hash(cfg.folds_path)
        self.runs = Path(cfg.paths.runs) / "digits"

    def ensemble_yaml(self, members: list[str], **section) -> Path:
        body = {"members": [f"{m}.yaml" for m in members] or ["none.yaml"], "meta": FAST_META}
        body.update(section)
        return write_yaml(
            self.dir / "configs" / "ensemble.yaml",
            {"extends": self.base, "name": "stack", "paths": self.paths, "ensemble": body},
        )

    def member(self, name: str, oof: np.ndarray, test: np.ndarray, **override) -> None:
        """configs/<name>.yaml and runs/digits/<name>/{run.json, oof.parquet, test.parquet}."""
        write_yaml(self.dir / "configs" / f"{name}.yaml", {"extends": self.base, "name": name})
        run = self.runs / name
        run.mkdir(parents=True, exist_ok=True)
        columns = proba_columns(self.comp.classes)
        frame = pd.DataFrame(
            {
                "id": self.comp.train_ids,
                "fold": override.get("fold", self.folds["fold"].to_numpy()),
                "target": self.comp.train["label"].to_numpy(),
            }
        )
        frame[columns] = oof
        frame.to_parquet(run / "oof.parquet", index=False)
        t = pd.DataFrame({"id": self.comp.test_ids})
        t[columns] = test
        t.to_parquet(run / "test.parquet", index=False)
        folds_hash = override.get("folds_hash", self.folds_hash)
        write_json(run / "run.json", {"folds_hash": folds_hash, "classes": self.comp.classes})

    def test_proba(self, rng: np.random.Generator) -> np.ndarray:
        return noisy_proba(rng.integers(0, 10, len(self.comp.test_ids)), 3.0, rng)

    def config(self, members: list[str], **section):
        return load_config(self.ensemble_yaml(members, **section))


def noisy_proba(labels: np.ndarray, strength: float, rng: np.random.Generator) -> np.ndarray:
    """A member that leans towards `labels` by `strength` (logit units), with per-row noise."""
    logits = rng.normal(size=(len(labels), 10))
    logits[np.arange(len(labels)), labels] += strength
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.fixture
def project(tmp_path, demo_data_root) -> Project:
    return Project(tmp_path, demo_data_root)


def test_member_trained_on_shuffled_labels_gives_chance_level_meta_cv(project):
    rng = np.random.default_rng(0)
    y = project.comp.targets
    shuffled = rng.permutation(y)
    project.member("shuffled", noisy_proba(shuffled, 3.0, rng), project.test_proba(rng))
    cfg = project.config(["shuffled"])

    score = ensemble.meta_cv_score(cfg, {"max_depth": 6})

    assert score < 0.16  # chance is 0.10 on ten balanced classes
    # the control: the same meta-model, had it seen the rows it predicts, would shine
    section = parse_ensemble(cfg)
    inputs = ensemble.load_inputs(cfg, section)
    x = build_level2(inputs.members, inputs.comp, section.features).train
    params = section.meta.xgb_params({"max_depth": 6})
    leaky = fit_meta_model(x, y, 10, section.meta, params, seed=0, margin=None)
    assert (leaky.predict(x) == y).mean() > 0.25  # measured 0.29


def test_members_on_other_folds_are_refused_naming_the_member(project):
    rng = np.random.default_rng(1)
    y = project.comp.targets
    project.member("good", noisy_proba(y, 3.0, rng), project.test_proba(rng))
    project.member(
        "stale",
        noisy_proba(y, 3.0, rng),
        project.test_proba(rng),
        folds_hash="0123456789abcdef",
    )
    with pytest.raises(ArtifactError, match="member 'stale'.*folds hash 0123456789abcdef"):
        ensemble.run(project.config(["good", "stale"]))

    moved = project.folds["fold"].to_numpy().copy()
    moved[0] = (moved[0] + 1) % 5  # same hash recorded, but one id sits in another fold
    project.member("moved", noisy_proba(y, 3.0, rng), project.test_proba(rng), fold=moved)
    with pytest.raises(ArtifactError, match="member 'moved'.*in fold"):
        ensemble.run(project.config(["good", "moved"]))


def test_ensemble_reports_every_candidate_and_writes_a_submission(project, capsys):
    rng = np.random.default_rng(2)
    y = project.comp.targets
    test_y = rng.integers(0, 10, len(project.comp.test_ids))
    project.member("alpha", noisy_proba(y, 3.0, rng), noisy_proba(test_y, 3.0, rng))
    project.member("beta", noisy_proba(y, 2.5, rng), noisy_proba(test_y, 2.5, rng))
    cfg = project.config(["alpha", "beta"], select="stack")

    submission = ensemble.run(cfg)

    out = cfg.run_dir
    report = (out / "report.md").read_text()
    for name in ("alpha", "beta", "mean", "blend", "logit_blend", "stack"):
        assert f"| {name} |" in report or f"**{name}**" in report
    assert (out / "report.png").stat().st_size > 0
    scores = read_json(out / "scores.json")
    assert scores["chosen"] == "stack"
    # two independent noisy members: stacking them beats either alone
    assert scores["cv"] > max(scores["candidates"][m]["accuracy"] for m in ("alpha", "beta"))
    vs = scores["vs_best_member"]  # the gain over the best member, paired on the same rows
    assert vs["member"] in ("alpha", "beta") and vs["fixed"] > vs["broken"]
    assert vs["gains"]["accuracy"]["observed"] > 0 and "Paired, on the same rows" in report
    oof = pd.read_parquet(out / "oof.parquet")
    assert list(oof["id"]) == list(project.comp.train_ids)
    assert np.allclose(oof[proba_columns(project.comp.classes)].sum(axis=1), 1, atol=1e-5)
    assert submission.exists() and str(submission) in capsys.readouterr().out

    # a saved meta-model, reloaded, predicts its fold exactly as the run did
    section = parse_ensemble(cfg)
    inputs = ensemble.load_inputs(cfg, section)
    x = build_level2(inputs.members, inputs.comp, section.features).train
    weights = np.array(read_json(out / "meta/prior.json")["members_weights_by_fold"]["fold0"])
    rows = inputs.fold == 0
    margin = prior_margin([m.oof[rows] for m in inputs.members], weights, section.meta.prior)
    model = load_meta_model(out / "meta/fold0_seed0.ubj")
    reloaded = model.predict_proba(x[rows], base_margin=margin)
    saved = oof.loc[rows, proba_columns(project.comp.classes)].to_numpy()
    np.testing.assert_allclose(reloaded, saved, rtol=1e-5, atol=1e-6)

    # unchanged members and section: nothing is recomputed
    before = (out / "scores.json").stat().st_mtime_ns
    ensemble.run(cfg)
    assert (out / "scores.json").stat().st_mtime_ns == before
    assert "up to date" in capsys.readouterr().out


def test_unknown_key_in_the_section_is_named(project):
    cfg = project.config(["x"], meta={"seed": [0]})
    with pytest.raises(
        ConfigError, match=r"unknown key ensemble\.meta\.seed.*did you mean 'seeds'"
    ):
        parse_ensemble(cfg)
