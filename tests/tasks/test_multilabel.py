"""The multilabel task: tags and 0/1 columns read with errors that name the line, the metrics
against scikit-learn, CV-honest thresholds in the score block and the submission that uses
them, iterative-stratification folds (grouped too), the losses, the blends and the settings it
refuses."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from sklearn import metrics as skm

from factories import toy_config, write_competition
from podium.artifacts import write_json
from podium.competition import Competition
from podium.config import ConfigError, FoldsConfig, from_dict
from podium.engine.mixing import SoftTargetMixup
from podium.ensemble.blend import blend_cv
from podium.errors import ArtifactError, DataError
from podium.folds import assign_folds
from podium.metrics import DecisionSummary
from podium.metrics.fbeta import fit_thresholds
from podium.metrics.multilabel import MULTILABEL as METRICS
from podium.predictions import TEST, write_test
from podium.scoring import score_predictions
from podium.submission import build_submission, validate_submission
from podium.tasks.multilabel_loss import MultilabelLoss
from podium.tasks.multilabel_stacking import BLENDS, fit_label_weights
from podium.validate import validate

TAGS = ["a b", "", "b c", "a", "c a", "b", "a b c", "c"]


def multilabel(tmp_path, tags=TAGS, sample_columns=None, **competition):
    comp_dir = write_competition(tmp_path, tags, n_test=3)
    if sample_columns is not None:
        ids = pd.read_csv(comp_dir / "sample_submission.csv", dtype=str)["id"]
        pd.DataFrame({"id": ids, **{c: "0" for c in sample_columns}}).to_csv(
            comp_dir / "sample_submission.csv", index=False
        )
    cfg = toy_config(tmp_path, task="multilabel", **competition)
    return cfg, Competition.from_config(cfg)


def random_data(n=400, labels=5, seed=0):
    rng = np.random.default_rng(seed)
    y = (rng.random((n, labels)) < np.linspace(0.1, 0.6, labels)).astype(int)
    p = np.clip(0.35 * y + rng.random((n, labels)) * 0.7, 0, 1)
    return y, p


# ---- targets -------------------------------------------------------------------------------
def test_tags_are_read_with_empty_rows_allowed(tmp_path):
    cfg, comp = multilabel(tmp_path)
    task = comp.task
    assert task.metric.name == "auc" and task.defaults.loss == "bce"  # the task's defaults
    assert cfg.competition.metric is None and cfg.train.loss is None  # named by no config
    assert task.labels == ["a", "b", "c"] and task.columns == ["p_a", "p_b", "p_c"]
    assert comp.targets[:3].tolist() == [[1, 1, 0], [0, 0, 0], [0, 1, 1]]
    assert list(task.target_frame(comp.train)["target"][:2]) == ["a b", ""]


def test_a_tag_that_is_not_a_label_names_its_line(tmp_path):
    _, comp = multilabel(tmp_path, classes=["a", "b"])
    with pytest.raises(DataError, match=r"train.csv: line 4 \(id 'r002'\) has tag 'c'"):
        _ = comp.targets


def test_label_columns_must_hold_zero_or_one(tmp_path):
    comp_dir = write_competition(tmp_path, ["x"] * 4)
    table = pd.read_csv(comp_dir / "train.csv", dtype=str)
    table.assign(u=["1", "0", "1", "0"], v=["0", "1", "2", "1"]).to_csv(
        comp_dir / "train.csv", index=False
    )
    cfg = toy_config(tmp_path, task="multilabel", target_columns=["u", "v"])
    with pytest.raises(DataError, match=r"line 4 \(id 'r002'\), label column 'v' has '2'"):
        _ = Competition.from_config(cfg).task
    table.assign(u=["1", "0", "1", "0"], v=["0", "1", "0", "1"]).to_csv(
        comp_dir / "train.csv", index=False
    )
    comp = Competition.from_config(cfg)
    assert comp.task.labels == ["u", "v"] and comp.targets.tolist()[1] == [0, 1]
    assert list(comp.task.target_frame(comp.train).columns) == ["target_u", "target_v"]


def test_a_sample_submission_label_that_train_never_uses_is_reported(tmp_path):
    cfg, _ = multilabel(tmp_path, sample_columns=["a", "b", "c", "d"], submission_format="proba")
    with pytest.raises(DataError, match=r"column\(s\) \['d'\] are labels that train.csv never"):
        validate(cfg)
    cfg, _ = multilabel(tmp_path, sample_columns=["a", "b", "c"], submission_format="label")
    with pytest.raises(DataError, match="submission_format: proba"):
        validate(cfg)


@pytest.mark.parametrize(
    "override, key",
    [
        ({"train": {"loss": "ce"}}, "train.loss"),
        ({"train": {"sampler": "upsample"}}, "train.sampler"),
        ({"infer": {"merge": "geometric"}}, "infer.merge"),
        ({"pseudo": {"teacher": "t.yaml"}}, "pseudo"),
    ],
)
def test_refused_settings_name_the_key(tmp_path, override, key):
    cfg, _ = multilabel(tmp_path)
    d = cfg.model_dump(mode="json", exclude={"source"})
    for section, values in override.items():
        d[section] = {**(d.get(section) or {}), **values}
    with pytest.raises(ConfigError, match=f"{key}: "):
        validate(from_dict(d, source="toy"))


# ---- metrics against scikit-learn ----------------------------------------------------------
def test_ranking_metrics_match_sklearn():
    y, p = random_data()
    assert METRICS["auc"](y, p) == pytest.approx(skm.roc_auc_score(y, p, average="macro"))
    assert METRICS["average_precision"](y, p) == pytest.approx(
        skm.average_precision_score(y, p, average="macro")
    )
    per_label = [skm.log_loss(y[:, j], p[:, j], labels=[0, 1]) for j in range(y.shape[1])]
    assert METRICS["log_loss"](y, np.clip(p, 1e-6, 1 - 1e-6)) == pytest.approx(
        np.mean([skm.log_loss(y[:, j], np.clip(p[:, j], 1e-6, 1 - 1e-6)) for j in range(5)])
    )
    assert np.isfinite(per_label).all()


@pytest.mark.parametrize("beta", [0.5, 1.0, 2.0])
@pytest.mark.parametrize("average", ["micro", "macro", "samples"])
def test_f_metrics_match_sklearn(beta, average):
    y, p = random_data(seed=int(beta * 10))
    metric = METRICS[f"f{beta:g}_{average}"]
    decided = (p >= 0.5).astype(float)
    expected = skm.fbeta_score(y, decided, beta=beta, average=average, zero_division=1.0)
    assert metric(y, decided) == pytest.approx(expected)  # decisions: the plain F
    t = fit_thresholds(y, p, beta=beta, average=average)
    at_best = skm.fbeta_score(y, p >= t, beta=beta, average=average, zero_division=1.0)
    assert metric(y, p) == pytest.approx(at_best)  # probabilities: at the F-best threshold
    assert metric(y, p) >= expected - 1e-12


# ---- CV-honest thresholds -------------------------------------------------------------------
def thresholds(params: list[float], labels: list[str] | None = None) -> dict:
    """A scores.json decision block of thresholds fitted on every OOF row."""
    return DecisionSummary(
        "thresholds", params, {}, 0.0, {}, 0.0, {"labels": labels or ["a", "b", "c"]}
    ).to_json()


def test_score_block_fits_fold_k_thresholds_without_fold_k(tmp_path):
    cfg, comp = multilabel(tmp_path, metric="f2_samples", thresholds="per_label")
    task = comp.task
    rng = np.random.default_rng(3)
    y = (rng.random((300, 3)) < 0.3).astype(int)
    p = rng.random((300, 3))  # pure noise: any F above chance is fitted on the scored rows
    fold = np.arange(300) % 3
    block = score_predictions(task, y, p, fold)
    fitted = block.decision
    assert fitted is not None and fitted.kind == "thresholds"
    assert fitted.details["labels"] == ["a", "b", "c"] and fitted.details["per_label"]
    for k in range(3):
        alone = fit_thresholds(
            y[fold != k], p[fold != k], beta=2.0, average="samples", per_label=True
        )
        assert fitted.fold_params[k] == pytest.approx(alone.tolist())
    every = fit_thresholds(y, p, beta=2.0, average="samples", per_label=True)
    assert fitted.params == pytest.approx(every.tolist())
    assert block.score == pytest.approx(fitted.cv_score)
    assert block.score < fitted.fit_score  # in-sample flatters, the CV does not


def test_the_submission_uses_the_thresholds_fitted_on_every_oof_row(tmp_path):
    cfg, comp = multilabel(tmp_path, metric="f1_micro")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    pred = np.array([[0.9, 0.2, 0.35], [0.1, 0.1, 0.1], [0.5, 0.6, 0.31]])
    write_test(run_dir / TEST, comp.task, comp.test_ids, pred)
    with pytest.raises(ArtifactError, match="scores not found"):
        build_submission(comp, run_dir)
    write_json(run_dir / "scores.json", {"final": {}})
    with pytest.raises(ArtifactError, match="no thresholds fitted on the OOF rows"):
        build_submission(comp, run_dir)
    write_json(run_dir / "scores.json", {"final": {"decision": thresholds([0.3] * 3)}})
    sub = build_submission(comp, run_dir)
    assert sub["label"].tolist() == ["a c", "", "a b c"]
    validate_submission(comp, sub, "sub")  # an empty tag list is a valid cell
    bad = sub.assign(label=["a", "x", ""])
    with pytest.raises(DataError, match="line 3, column 'label' has tag 'x'"):
        validate_submission(comp, bad, "sub")


def test_a_proba_submission_holds_decisions_for_an_f_metric(tmp_path):
    for metric, expected in (("auc", [0.9, 0.1, 0.5]), ("f1_macro", [1, 0, 1])):
        cfg, comp = multilabel(
            tmp_path, sample_columns=["a", "b", "c"], submission_format="proba", metric=metric
        )
        run_dir = tmp_path / f"run_{metric}"
        run_dir.mkdir()
        pred = np.array([[0.9, 0.2, 0.3], [0.1, 0.1, 0.1], [0.5, 0.6, 0.3]])
        write_test(run_dir / TEST, comp.task, comp.test_ids, pred)
        write_json(run_dir / "scores.json", {"final": {"decision": thresholds([0.4] * 3)}})
        sub = build_submission(comp, run_dir)
        assert sub["a"].tolist() == pytest.approx(expected)
        assert comp.task.submission.predictions(sub, ["a", "b", "c"]).shape == (3, 3)


# ---- folds ----------------------------------------------------------------------------------
def test_folds_balance_every_label_and_keep_groups_apart(tmp_path):
    rng = np.random.default_rng(0)
    names = np.array(["a", "b", "c", "d"], dtype=object)
    on = rng.random((200, 4)) < [0.5, 0.2, 0.1, 0.05]
    tags = [" ".join(names[row]) for row in on]
    cfg, comp = multilabel(tmp_path, tags=tags)
    fold = assign_folds(comp, FoldsConfig(n_splits=5, seed=1))["fold"].to_numpy()
    per_fold = np.array([comp.targets[fold == k].sum(axis=0) for k in range(5)])
    assert (per_fold.max(axis=0) - per_fold.min(axis=0) <= 1).all(), per_fold
    groups = [f"g{i // 4}" for i in range(200)]
    write_competition(tmp_path, tags, groups=groups, n_test=3)
    cfg = toy_config(tmp_path, task="multilabel", group_column="group")
    comp = Competition.from_config(cfg)
    folds = assign_folds(comp, FoldsConfig(method="stratified_group", n_splits=5, seed=1))
    table = comp.train.assign(fold=folds["fold"].to_numpy())
    assert (table.groupby("group")["fold"].nunique() == 1).all()
    assert sorted(table["fold"].unique()) == [0, 1, 2, 3, 4]


# ---- losses, mixup, blends ----------------------------------------------------------------
def test_losses():
    torch.manual_seed(0)
    x, t = torch.randn(6, 4), (torch.rand(6, 4) < 0.4).float()
    bce = F.binary_cross_entropy_with_logits(x, t)
    assert MultilabelLoss("bce")(x, t) == pytest.approx(bce.item(), rel=1e-5)
    asl = MultilabelLoss("asl", gamma_neg=0.0, gamma_pos=0.0, clip=0.0)
    assert asl(x, t) == pytest.approx(bce.item(), rel=1e-4)  # no focusing, no shift: bce
    assert MultilabelLoss("asl")(x, t) < bce  # easy negatives weigh less
    assert MultilabelLoss("focal", gamma=2.0)(x, t) < bce
    pw = torch.tensor([1.0, 2.0, 3.0, 4.0])
    weighted = F.binary_cross_entropy_with_logits(x, t, pos_weight=pw)
    assert MultilabelLoss("bce", pos_weight=pw)(x, t) == pytest.approx(weighted.item(), rel=1e-5)
    smooth = F.binary_cross_entropy_with_logits(x, t * 0.9 + 0.05)
    assert MultilabelLoss("bce", label_smoothing=0.1)(x, t) == pytest.approx(
        smooth.item(), rel=1e-5
    )


def test_mixup_mixes_multi_hot_targets():
    mix = SoftTargetMixup(mixup_alpha=1.0, cutmix_alpha=0.0, num_classes=3)
    x = torch.zeros(4, 3, 8, 8)
    t = torch.tensor([[1.0, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 0]])
    _, mixed = mix(x, t)
    lam = float(mixed[0, 0])  # row 0 mixes with row 3 (the batch flipped)
    assert mixed[0].tolist() == pytest.approx([lam, 0.0, lam])
    assert mixed.min() >= 0 and mixed.max() <= 1


def test_blends_fit_per_label_weights():
    rng = np.random.default_rng(1)
    y = (rng.random((300, 2)) < 0.4).astype(int)
    good = np.clip(0.6 * y + 0.2 + rng.normal(0, 0.1, y.shape), 0.01, 0.99)
    noise = rng.random(y.shape)
    # member 0 is right on label 0, member 1 on label 1
    a = np.stack([good[:, 0], noise[:, 1]], axis=1)
    b = np.stack([noise[:, 0], good[:, 1]], axis=1)
    w = fit_label_weights([a, b], y)
    assert w.shape == (2, 2) and w[0, 0] > 0.8 and w[1, 1] > 0.8
    fold = np.arange(300) % 3
    oof, test, weights = blend_cv([a, b], [a, b], y, fold, BLENDS["label_blend"])
    assert weights.shape == (3, 2, 2) and oof.shape == y.shape and test.shape == y.shape
    assert METRICS["log_loss"](y, oof) < min(METRICS["log_loss"](y, a), METRICS["log_loss"](y, b))
    lw = BLENDS["logit_blend"].fit([a, b], y)
    assert lw.shape == (2,) and (lw >= 0).all()


def test_tune_direction_and_target_columns_refused_as_metadata(tmp_path):
    from podium.ensemble.features import check_metadata
    from podium.tasks import metric_of

    cfg, comp = multilabel(tmp_path, metric="f2_samples")
    assert metric_of(cfg.competition).greater_is_better
    cfg, _ = multilabel(tmp_path, metric="log_loss")
    assert not metric_of(cfg.competition).greater_is_better
    comp_dir = write_competition(tmp_path, ["x"] * 4)
    table = pd.read_csv(comp_dir / "train.csv", dtype=str)
    table.assign(u=["1", "0", "1", "0"], v=["0", "1", "0", "1"]).to_csv(
        comp_dir / "train.csv", index=False
    )
    comp = Competition.from_config(
        toy_config(tmp_path, task="multilabel", target_columns=["u", "v"])
    )
    with pytest.raises(ConfigError, match="'v' is the competition's target column"):
        check_metadata(["v"], comp)
