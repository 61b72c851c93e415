"""The ensemble stage on synthetic members (prediction files written by the test through
`podium.predictions`, no CNN training): honest meta CV, refused members, the report,
reloadable meta-models, and `podium ensemble` through the pipeline down to the submission."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from podium import pipeline
from podium.artifacts import ArtifactError, read_json
from podium.competition import Competition
from podium.config import ConfigError, load_config
from podium.ensemble.features import build_level2
from podium.ensemble.inputs import load_inputs
from podium.ensemble.meta_cv import meta_cv_score
from podium.ensemble.stack import fit_meta_model, load_meta_model
from podium.predictions import OOF, TEST, read_oof, write_oof, write_test
from podium.stages import ensemble
from podium.stages import folds as folds_stage
from podium.stages.demo_data import write_demo

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

    def __init__(
        self,
        tmp_path: Path,
        data_root: Path,
        demo: str = "digits",
        meta: dict | None = None,
        base: Path | None = None,
    ) -> None:
        self.dir = tmp_path
        self.paths = {
            "data": str(data_root),
            "runs": str(tmp_path / "runs"),
            "submissions": str(tmp_path / "submissions"),
        }
        self.base = str(base or ROOT / f"configs/{demo}/base.yaml")
        self.meta = {**FAST_META, **(meta or {})}
        cfg = load_config(self.ensemble_yaml([]), [])
        folds_stage.run(cfg)
        self.comp = Competition.from_config(cfg)
        self.task = self.comp.task
        self.folds = pd.read_csv(cfg.folds_path, dtype={"id": str})
        self.runs = Path(cfg.paths.runs) / demo

    def ensemble_yaml(self, members: list[str], **section) -> Path:
        body = {"members": [f"{m}.yaml" for m in members] or ["none.yaml"], "meta": self.meta}
        body.update(section)
        return write_yaml(
            self.dir / "configs" / "ensemble.yaml",
            {"extends": self.base, "name": "stack", "paths": self.paths, "ensemble": body},
        )

    def member(
        self, name: str, oof: np.ndarray, test: np.ndarray, fold: np.ndarray | None = None
    ) -> None:
        """configs/<name>.yaml and runs/digits/<name>/{oof.parquet, test.parquet}, written as
        the stages write them; `fold`: the folds its OOF was made on (default: folds.csv's)."""
        write_yaml(
            self.dir / "configs" / f"{name}.yaml",
            {"extends": self.base, "name": name, "paths": self.paths},
        )
        run, comp, task = self.runs / name, self.comp, self.task
        fold = self.folds["fold"].to_numpy() if fold is None else fold
        write_oof(run / OOF, task, comp.train_ids, fold, task.target_frame(comp.train), oof)
        write_test(run / TEST, task, comp.test_ids, test)

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

    score = meta_cv_score(cfg, {"max_depth": 6})

    assert score < 0.16  # chance is 0.10 on ten balanced classes
    # the control: the same meta-model, had it seen the rows it predicts, would shine
    section = cfg.section("ensemble")
    inputs = load_inputs(cfg, section)
    x = build_level2(inputs.members, inputs.comp, section.features).train
    params = section.meta.xgb_params({"max_depth": 6})
    leaky = fit_meta_model(inputs.task, x, y, section.meta, params, seed=0, margin=None)
    assert (leaky.predict(x) == y).mean() > 0.25  # measured 0.29


def test_members_on_other_folds_are_refused_naming_the_member(project):
    rng = np.random.default_rng(1)
    y = project.comp.targets
    folds = project.folds["fold"].to_numpy()
    project.member("good", noisy_proba(y, 3.0, rng), project.test_proba(rng))
    # made on another split of the competition (a folds.csv since replaced)
    project.member("stale", noisy_proba(y, 3.0, rng), project.test_proba(rng), fold=(folds + 1) % 5)
    with pytest.raises(ArtifactError, match="member 'stale'.*in fold.*other folds.*--force"):
        ensemble.run(project.config(["good", "stale"]))

    moved = folds.copy()
    moved[0] = (moved[0] + 1) % 5  # every other id in its fold, but one sits in another
    project.member("moved", noisy_proba(y, 3.0, rng), project.test_proba(rng), fold=moved)
    with pytest.raises(ArtifactError, match=f"member 'moved'.*id '{project.comp.train_ids[0]}'"):
        ensemble.run(project.config(["good", "moved"]))


@pytest.fixture
def upstream(monkeypatch) -> list[tuple[str, str, Path]]:
    """The members' train / oof / infer stages as the pipeline calls them (stage, member, its
    run folder), recorded instead of run: the synthetic members' prediction files are already
    there, as after a finished run."""
    calls: list[tuple[str, str, Path]] = []

    def stand_in(stage: str):
        def run(exp, force=False, **kw) -> None:
            calls.append((stage, exp.cfg.name, exp.run_dir))

        return run

    for stage in ("train", "oof", "infer"):
        monkeypatch.setattr(getattr(pipeline, f"{stage}_stage"), "run", stand_in(stage))
    return calls


def test_ensemble_reports_every_candidate_and_writes_a_submission(
    project, upstream, capsys, caplog
):
    rng = np.random.default_rng(2)
    y = project.comp.targets
    test_y = rng.integers(0, 10, len(project.comp.test_ids))
    project.member("alpha", noisy_proba(y, 3.0, rng), noisy_proba(test_y, 3.0, rng))
    project.member("beta", noisy_proba(y, 2.5, rng), noisy_proba(test_y, 2.5, rng))
    path = project.ensemble_yaml(["alpha", "beta"], select="stack")
    cfg = load_config(path)

    # `podium ensemble`: the members' predictions, the ensemble, then its submission
    submission = pipeline.run("ensemble", pipeline.Request(config=path))

    assert sorted(upstream) == sorted(
        (stage, m, project.runs / m)
        for stage in ("train", "oof", "infer")
        for m in ("alpha", "beta")
    )
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
    # the CV of choosing itself: fold k predicted by the candidate best on the other folds
    nested = scores["nested_selection"]
    assert set(nested["picked_by_fold"]) == {str(k) for k in range(5)}
    assert set(nested["picked_by_fold"].values()) <= set(scores["candidates"])
    assert 0 < nested["accuracy"] <= 1 and nested["valid_loss"] > 0
    assert nested["refitted"] is True  # 5 folds: every fitted candidate refitted without fold k
    assert "every fitted candidate refitted without fold k" in report
    task, comp = project.task, project.comp
    assert list(pd.read_parquet(out / OOF)["id"]) == list(comp.train_ids)  # train.csv order
    oof = read_oof(out / OOF, task, comp.train_ids, project.folds["fold"].to_numpy())
    assert np.allclose(oof.sum(axis=1), 1, atol=1e-5)
    printed = capsys.readouterr().out
    assert submission.exists() and str(submission) in printed
    # the printed verdict follows the interval (clear of zero: not "within noise")
    gain = vs["gains"]["accuracy"]
    assert gain["low"] > 0 and "accuracy gain" in printed
    assert "a gain beyond noise" in printed.split("accuracy gain")[1].split(";")[0]

    # a saved meta-model, reloaded, predicts its fold exactly as the run did
    section = cfg.section("ensemble")
    inputs = load_inputs(cfg, section)
    x = build_level2(inputs.members, inputs.comp, section.features).train
    weights = np.array(read_json(out / "meta/prior.json")["members_weights_by_fold"]["fold0"])
    rows = inputs.fold == 0
    margin = task.stacking.prior_margin(
        [m.oof[rows] for m in inputs.members], weights, section.meta.prior
    )
    model = load_meta_model(out / "meta/fold0_seed0.ubj")
    reloaded = task.stacking.meta_predict(model, x[rows], margin)
    np.testing.assert_allclose(reloaded, oof[rows], rtol=1e-5, atol=1e-6)

    # unchanged members and section: nothing is recomputed
    before = (out / "scores.json").stat().st_mtime_ns
    with caplog.at_level(logging.INFO, logger="podium"):
        ensemble.run(cfg)
    assert (out / "scores.json").stat().st_mtime_ns == before
    assert "up to date" in caplog.text


def test_the_pipeline_makes_members_where_the_ensemble_reads_them(project, upstream, monkeypatch):
    """A member's file that names no `paths` is read under the ensemble's (`member_config`):
    the pipeline must make its predictions there too, not under the defaults (./data, ./runs)."""
    monkeypatch.chdir(project.dir)  # the defaults, should they be used: nothing of the repo's
    rng = np.random.default_rng(3)
    project.member("alpha", noisy_proba(project.comp.targets, 3.0, rng), project.test_proba(rng))
    write_yaml(project.dir / "configs" / "alpha.yaml", {"extends": project.base, "name": "alpha"})
    path = project.ensemble_yaml(["alpha"])

    pipeline.run("ensemble", pipeline.Request(config=path))

    assert {(stage, run_dir) for stage, _, run_dir in upstream} == {
        (stage, project.runs / "alpha") for stage in ("train", "oof", "infer")
    }


def test_unknown_key_in_the_section_is_named(project):
    with pytest.raises(
        ConfigError, match=r"unknown key ensemble\.meta\.seed.*did you mean 'seeds'"
    ):
        project.config(["x"], meta={"seed": [0]})


def test_a_regression_ensemble_prints_no_mcnemar_count(tmp_path, capsys):
    """A value is neither right nor wrong: the comparison is the bootstrap interval alone."""
    write_demo(tmp_path / "data", "regression")
    project = Project(tmp_path, tmp_path / "data", "digits_regression", {"prior": "blend"})
    rng = np.random.default_rng(4)
    y = project.comp.targets[:, 0]
    n_test = len(project.comp.test_ids)
    for name, sd in (("alpha", 1.0), ("beta", 1.2)):
        oof, test = y + rng.normal(0, sd, len(y)), rng.normal(4.5, 3, n_test)
        project.member(name, oof[:, None], test[:, None])

    cfg = project.config(["alpha", "beta"], select="blend")
    ensemble.run(cfg)

    printed = capsys.readouterr().out
    assert "blend vs alpha: rmse gain" in printed and "mse gain" in printed
    assert "McNemar" not in printed and "fixes" not in printed
    vs = read_json(cfg.run_dir / "scores.json")["vs_best_member"]
    assert vs["fixed"] is None and vs["mcnemar_p"] is None
    assert "McNemar" not in (cfg.run_dir / "report.md").read_text()


def test_a_grouped_competition_compares_groups_not_rows(tmp_path, demo_data_root, capsys):
    """With `competition.group_column` (a writer's four digits), the gain over the best member
    is resampled and tested by writer: the report says over how many groups."""
    digits = demo_data_root / "digits"
    data = tmp_path / "data" / "digits"
    data.mkdir(parents=True)
    for name in ("train", "test", "sample_submission.csv", "solution.csv"):
        (data / name).symlink_to(digits / name)
    train = pd.read_csv(digits / "train.csv", dtype=str)
    train["writer"] = [f"w{i // 4}" for i in range(len(train))]
    train.to_csv(data / "train.csv", index=False)
    base = write_yaml(
        tmp_path / "configs" / "grouped.yaml",
        {
            "extends": str(ROOT / "configs/digits/base.yaml"),
            "competition": {"group_column": "writer"},
            "folds": {"method": "stratified_group"},
        },
    )
    project = Project(tmp_path, tmp_path / "data", base=base)
    rng = np.random.default_rng(5)
    y = project.comp.targets
    project.member("alpha", noisy_proba(y, 2.0, rng), project.test_proba(rng))
    project.member("beta", noisy_proba(y, 2.0, rng), project.test_proba(rng))

    cfg = project.config(["alpha", "beta"], select="blend")
    ensemble.run(cfg)

    vs = read_json(cfg.run_dir / "scores.json")["vs_best_member"]
    writers = train["writer"].nunique()
    assert vs["groups"] == writers
    assert f"sign-flip over {writers} groups" in capsys.readouterr().out
    assert "paired bootstrap of groups" in (cfg.run_dir / "report.md").read_text()
