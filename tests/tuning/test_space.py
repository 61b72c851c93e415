"""The `tune:` section and its search space, without training: what a trial is offered,
what a config receives, and the errors a user sees for a wrong section."""

from __future__ import annotations

import optuna
import pytest

from podium.config import ConfigError, from_dict, read_yaml
from podium.tuning.space import check_space, nest, suggest, with_params
from podium.tuning.study import build_pruner, build_sampler, build_storage

ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]
optuna.logging.set_verbosity(optuna.logging.WARNING)

SPACE = {
    "train.lr": {"type": "float", "low": 1e-4, "high": 1e-1, "log": True},
    "train.weight_decay": {"type": "float", "low": 0.0, "high": 0.1, "step": 0.02},
    "train.warmup_epochs": {"type": "int", "low": 0, "high": 8, "step": 2},
    "train.epochs": {"type": "int", "low": 2, "high": 64, "log": True},
    "train.batch_size": [16, 32, 64],
    "mix": {"type": "categorical", "choices": ["none", "mixup", "cutmix"]},
    "train.mixup_alpha": {"type": "float", "low": 0.1, "high": 0.4, "when": {"mix": "mixup"}},
    "train.cutmix_alpha": {"type": "float", "low": 0.5, "high": 1.0, "when": {"mix": "cutmix"}},
    "train.mixup_prob": {
        "type": "float",
        "low": 0.5,
        "high": 1.0,
        "when": {"mix": ["mixup", "cutmix"]},
    },
}


def base_config(tune: dict, *overrides: str):
    d = read_yaml(ROOT / "configs/digits/base.yaml")
    d["name"] = "t"
    d["tune"] = tune
    cfg = from_dict(d, source="t.yaml")
    return cfg


def test_every_kind_of_parameter_stays_in_its_range_and_on_its_grid():
    tune = base_config({"space": SPACE}).tune
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen: list[dict] = []

    def objective(trial):
        seen.append(suggest(trial, tune.space))
        return 0.0

    study.optimize(objective, n_trials=60)
    for p in seen:
        assert 1e-4 <= p["train.lr"] <= 1e-1
        assert round(p["train.weight_decay"] / 0.02, 6).is_integer()
        assert p["train.warmup_epochs"] in {0, 2, 4, 6, 8}
        assert 2 <= p["train.epochs"] <= 64 and isinstance(p["train.epochs"], int)
        assert p["train.batch_size"] in {16, 32, 64}
        # conditional parameters exist exactly when their switch allows them
        assert ("train.mixup_alpha" in p) == (p["mix"] == "mixup")
        assert ("train.cutmix_alpha" in p) == (p["mix"] == "cutmix")
        assert ("train.mixup_prob" in p) == (p["mix"] != "none")
    assert {p["mix"] for p in seen} == {"none", "mixup", "cutmix"}
    lrs = sorted(p["train.lr"] for p in seen)
    assert lrs[len(lrs) // 2] < 0.02  # log scale: the median sits far below the linear middle


def test_chosen_values_become_a_nested_overlay_and_a_valid_config():
    params = {"train.lr": 0.01, "model.drop_rate": 0.2, "mix": "cutmix", "train.cutmix_alpha": 1.0}
    assert nest(params) == {
        "train": {"lr": 0.01, "cutmix_alpha": 1.0},
        "model": {"drop_rate": 0.2},
    }  # the switch is not a config key
    cfg = with_params(base_config(None).resolved(), params, "t")
    assert (cfg.train.lr, cfg.train.cutmix_alpha, cfg.model.drop_rate) == (0.01, 1.0, 0.2)
    assert cfg.train.batch_size == 64  # untouched keys keep the base value


@pytest.mark.parametrize(
    "tune, message",
    [
        ({"space": SPACE, "n_trails": 3}, "unknown key tune.n_trails; did you mean 'n_trials'?"),
        (
            {"space": {"train.lr": {"type": "float", "low": 1.0, "high": 0.1}}},
            "tune.space['train.lr']: low (1.0) is above high (0.1)",
        ),
        (
            {"space": {"train.lr": {"type": "float", "low": 0.0, "high": 0.1, "log": True}}},
            "a log scale needs low > 0",
        ),
        ({"space": {"train.lr": {"type": "flaot", "low": 0, "high": 1}}}, "tune.space['train.lr']"),
        (
            {"space": {"train.lr": {"type": "float", "low": 0.1, "high": 1, "logg": True}}},
            "unknown key tune.space['train.lr'].logg; did you mean 'log'?",
        ),
        (
            {
                "space": {
                    "train.cutmix_alpha": {**SPACE["train.cutmix_alpha"]},
                    **{"mix": SPACE["mix"]},
                }
            },
            "names 'mix', which is declared after it",
        ),
        ({"space": {"lr": SPACE["train.lr"]}}, "neither config keys"),
        (
            {"space": SPACE, "pruner": {"name": "median", "min_resource": 2}},
            "tune.pruner.min_resource",
        ),
        ({"space": SPACE, "pruner": {"name": "asha"}}, "tune.pruner"),
        ({"space": SPACE, "enqueue": [{"train.lrr": 0.1}]}, "enqueue[0] names ['train.lrr']"),
        ({"space": SPACE, "study": "a/b"}, "tune.study"),
        ({}, "tune.space: Field required"),
    ],
)
def test_a_wrong_tune_section_names_file_and_key(tune, message):
    with pytest.raises(ConfigError) as err:
        base_config(tune)
    assert "t.yaml" in str(err.value) and message in str(err.value)


@pytest.mark.parametrize(
    "space, message",
    [
        ({"train.lrr": SPACE["train.lr"]}, "unknown key 'train.lrr'; did you mean 'train.lr'?"),
        (
            {"train.lr": {"type": "float", "low": 0.0, "high": 0.1}},
            "train.lr: Input should be greater than 0",
        ),
        ({"train.scheduler": ["cosine", "linear"]}, "tune.space['train.scheduler'] = 'linear'"),
    ],
)
def test_a_space_the_config_would_refuse_fails_before_any_trial(space, message):
    cfg = base_config({"space": space})
    with pytest.raises(ConfigError, match="t.yaml") as err:
        check_space(cfg.resolved(), cfg.tune.space, "t.yaml")
    assert message in str(err.value)


def test_storages_samplers_and_pruners_come_from_the_names(tmp_path):
    assert type(build_storage(f"sqlite:///{tmp_path / 'a' / 'o.db'}", 60)).__name__ == "RDBStorage"
    journal = build_storage(str(tmp_path / "b" / "o.journal"), 60)
    assert type(journal).__name__ == "JournalStorage"
    tune = base_config({"space": SPACE}).tune
    sampler = build_sampler(tune, offset=0)
    assert isinstance(sampler, optuna.samplers.TPESampler)
    expected = {
        "median": optuna.pruners.MedianPruner,
        "halving": optuna.pruners.SuccessiveHalvingPruner,
        "hyperband": optuna.pruners.HyperbandPruner,
        "wilcoxon": optuna.pruners.WilcoxonPruner,
        "none": optuna.pruners.NopPruner,
    }
    for name, cls in expected.items():
        pruner = build_pruner(base_config({"space": SPACE, "pruner": {"name": name}}).tune)
        assert isinstance(pruner, cls)


def test_the_demo_tune_config_is_valid():
    from podium.config import load_config

    cfg = load_config(ROOT / "configs/digits/tune.yaml")
    tune = cfg.tune
    check_space(cfg.resolved(), tune.space, str(cfg.source))
    assert tune.mode == "train" and len(tune.space) >= 5 and tune.has_conditions
