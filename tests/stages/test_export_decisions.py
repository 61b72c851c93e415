"""`podium export` + `podium predict` where the submission decides with what was fitted on the
OOF rows: a multilabel stack scored by an F metric (its thresholds) and an ordinal ensemble
with ridge and SVR members (its cut-points). The bundle carries them (decisions.json, hashed
like the rest) and `podium predict` from the bundle alone writes the very file `podium submit`
wrote, byte for byte. And the ridge / SVR members' models, and a multilabel task's
one-vs-rest wrapper, round-trip without pickle."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVR
from xgboost import XGBClassifier

from podium import pipeline
from podium.artifacts import read_json
from podium.bundle.manifest import MANIFEST, read_manifest
from podium.config import apply_overrides, read_yaml
from podium.errors import ArtifactError
from podium.stages.demo_data import write_demo
from podium.stages.predict import run as predict
from podium.tabular.store import UnsafeModel, load_model, save_model

ROOT = Path(__file__).resolve().parents[2]
FAST = [
    "train.epochs=1",
    "train.progress=false",
    "folds.n_splits=2",
    "data.num_workers=0",
    "infer.tta=[identity]",
    "infer.batch_size=512",
]


def write_yaml(path: Path, data: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def configs(work: Path, demo: str, members: dict[str, dict]) -> Path:
    """The demo's base.yaml at tiny scale, the `members` and their stack: the ensemble config."""
    data = work / "data"
    write_demo(data, task=demo.removeprefix("digits_"))
    base = apply_overrides(
        read_yaml(ROOT / f"configs/{demo}/base.yaml"),
        [
            *FAST,
            "model.name=test_convnext",
            f"paths.data={data}",
            f"paths.runs={work / 'runs'}",
            f"paths.submissions={work / 'subs'}",
        ],
    )
    where = work / "configs"
    write_yaml(where / "base.yaml", base)
    for name, body in members.items():
        write_yaml(where / f"{name}.yaml", {"extends": "base.yaml", **body})
    meta = {"seeds": [0], "n_jobs": 1, "params": {"n_estimators": 20, "learning_rate": 0.3}}
    section = {"members": [f"{n}.yaml" for n in members], "meta": meta, "select": "stack"}
    if demo == "digits_ordinal":
        meta["prior"] = "blend"
    return write_yaml(
        where / "ens.yaml", {"extends": "base.yaml", "name": "stack", "ensemble": section}
    )


def same_submission(config: Path, work: Path, tmp: Path, name: str = "copied") -> dict:
    """Submit through the pipeline, export, predict from a copy of the bundle alone (the test
    images and sample_submission.csv only, no runs/) and compare the files: the manifest."""
    submitted = pipeline.run("submit", pipeline.Request(config=config))
    bundle = pipeline.run("export", pipeline.Request(config=config), out=tmp / "bundle")
    alone = shutil.copytree(bundle, tmp / name)
    shutil.rmtree(bundle)
    comp = next(p for p in (work / "data").iterdir() if p.is_dir())
    hidden = tmp / "hidden" / comp.name
    if not hidden.exists():
        shutil.copytree(comp / "test", hidden / "test")
        shutil.copy(comp / "sample_submission.csv", hidden)
    shutil.move(work / "runs", tmp / "runs")  # nothing of the runs is read
    try:
        out = predict(alone, hidden, tmp / f"{name}-out" / "submission.csv")
    finally:
        shutil.move(tmp / "runs", work / "runs")
    assert out.read_bytes() == Path(submitted).read_bytes()
    return read_manifest(alone)


def test_multilabel_stack_thresholds_travel(tmp_path):
    work = tmp_path / "work"
    logistic = {"model": "logistic", "image_size": 8, "standardize": True, "params": {"C": 0.5}}
    members = {"a": {}, "pixels": {"tabular": logistic}}  # one-vs-rest logistic regressions
    config = configs(work, "digits_multilabel", members)
    pipeline.run("ensemble", pipeline.Request(config=config))
    scores = work / "runs/digits_multilabel/ensemble/stack/scores.json"
    fitted = read_json(scores)["final"]["decision"]
    assert fitted["per_label"] and len(set(fitted["params"])) > 1  # not all 0.5
    # one CNN experiment: its own thresholds (scores.json of `podium oof`)
    member = same_submission(config.with_name("a.yaml"), work, tmp_path, "member")
    member_scores = read_json(work / "runs/digits_multilabel/a/scores.json")["final"]
    assert read_json(tmp_path / "member/decisions.json")["decision"] == member_scores["decision"]
    assert member["combination"]["kind"] == "member"
    manifest = same_submission(config, work, tmp_path)
    assert manifest["decisions"] == "decisions.json" and "decisions.json" in manifest["files"]
    assert [(m["kind"], m["model"]) for m in manifest["members"]] == [
        ("cnn", "test_convnext"),
        ("tabular", "logistic"),
    ]
    carried = read_json(tmp_path / "copied/decisions.json")["decision"]
    assert carried == fitted

    # a bundle of an older podium (no decisions) is refused, naming what is missing
    old = shutil.copytree(tmp_path / "copied", tmp_path / "old")
    m = read_json(old / MANIFEST)
    m["decisions"] = None
    (old / MANIFEST).write_text(json.dumps(m))
    hidden = tmp_path / "hidden/digits_multilabel"
    with pytest.raises(ArtifactError, match=r"no thresholds fitted on the OOF rows .*re-export"):
        predict(old, hidden, tmp_path / "old.csv")
    # changed thresholds are refused by their hash
    bent = shutil.copytree(tmp_path / "copied", tmp_path / "bent")
    (bent / "decisions.json").write_text(json.dumps({"run": "stack", "decision": None}))
    with pytest.raises(ArtifactError, match=r"decisions.json: sha256 differs"):
        predict(bent, hidden, tmp_path / "bent.csv")


def test_ordinal_ensemble_cutpoints_travel(tmp_path):
    work = tmp_path / "work"
    pixels = {"image_size": 8}
    members = {
        "ridge": {"tabular": {**pixels, "model": "ridge", "params": {"alpha": 10.0}}},
        "svr": {"tabular": {**pixels, "model": "svr", "params": {"C": 10, "gamma": 0.256}}},
    }
    config = configs(work, "digits_ordinal", members)
    pipeline.run("ensemble", pipeline.Request(config=config))
    cuts = read_json(work / "runs/digits_ordinal/ensemble/stack/scores.json")["final"]["decision"]
    manifest = same_submission(config, work, tmp_path)
    assert [m["model"] for m in manifest["members"]] == ["ridge", "svr"]
    assert read_json(tmp_path / "copied/decisions.json")["decision"] == cuts
    sub = (tmp_path / "copied-out/submission.csv").read_text().splitlines()
    assert sub[0] == "id,grade" and {r.split(",")[1] for r in sub[1:]} <= set("01234")


def test_a_member_without_its_scores_json_is_refused_with_its_command(tmp_path):
    work = tmp_path / "work"
    config = configs(work, "digits_ordinal", {"svr": {"tabular": {"model": "svr"}}})
    member = config.with_name("svr.yaml")
    pipeline.run("train", pipeline.Request(config=member))
    (work / "runs/digits_ordinal/svr/scores.json").unlink()  # the cut-points are in there
    with pytest.raises(ArtifactError, match=r"scores.json is missing or older .*podium train -c"):
        pipeline.run("export", pipeline.Request(config=member), out=tmp_path / "b")


@pytest.mark.parametrize(
    "model",
    [Ridge(alpha=3.0), SVR(C=10, gamma=0.3), make_pipeline(StandardScaler(), SVR(epsilon=0.05))],
    ids=["ridge", "svr", "scaled_svr"],
)
def test_ridge_and_svr_round_trip_without_pickle(model, tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 6))
    y = x @ rng.normal(size=6) + 0.1 * rng.normal(size=80)
    model.fit(x, y)
    files = save_model(model, tmp_path / "m")
    assert {f.suffix for f in files} == {".json", ".npz"}
    with np.load(tmp_path / "m.npz", allow_pickle=False) as npz:
        assert all(npz[k].dtype != object for k in npz.files)
    again = load_model(tmp_path / "m")
    assert type(again) is type(model)
    np.testing.assert_array_equal(again.predict(x), model.predict(x))


def multilabel_xy() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(80, 6))
    y = (x[:, :3] + 0.5 * rng.normal(size=(80, 3)) > 0).astype(int)
    y[:, 2] = 1  # a label every row has: scikit-learn's constant predictor
    return x, np.column_stack([y, x[:, 3] > 0])


@pytest.mark.filterwarnings("ignore:Label .* is present in all training examples")
def test_one_vs_rest_round_trips_nested_without_pickle(tmp_path):
    x, y = multilabel_xy()
    inner = make_pipeline(StandardScaler(), LogisticRegression(C=0.5))
    model = OneVsRestClassifier(inner).fit(x, y)
    save_model(model, tmp_path / "m")
    again = load_model(tmp_path / "m")
    assert [type(e).__name__ for e in again.estimators_] == [
        "Pipeline",
        "Pipeline",
        "_ConstantPredictor",
        "Pipeline",
    ]
    np.testing.assert_array_equal(again.predict_proba(x), model.predict_proba(x))


@pytest.mark.filterwarnings("ignore:Label .* is present in all training examples")
def test_a_booster_inside_one_vs_rest_is_still_refused(tmp_path):
    x, y = multilabel_xy()
    model = OneVsRestClassifier(XGBClassifier(n_estimators=2)).fit(x, y)
    with pytest.raises(UnsafeModel, match=r"estimators_\[0\]: XGBClassifier._Booster is a Booster"):
        save_model(model, tmp_path / "m")
