"""The `ensemble:` section of a config, validated with the config (unknown keys name the
closest valid one), so the ensemble stage trusts it.

    ensemble:
      members:                    # experiment configs, relative to this file
        - resnet10t.yaml
        - {config: pixels_svc.yaml}
      features:
        logits: false             # add log p beside each member's probabilities
        row_stats: true           # entropy and max probability per member, member agreement
        metadata: []              # columns of train.csv / the test table; true = competition.metadata
      meta:                       # the XGBoost meta-model (sklearn API)
        seeds: [0, 1, 2]          # test = mean over folds x seeds
        prior: logit_blend        # trees boost from this blend (or blend, mean, none)
        inner_valid_fraction: 0.2 # early stopping on this share of the training folds' rows
        early_stopping_rounds: 50
        params: {max_depth: 3, learning_rate: 0.05}   # any XGBClassifier argument
      blend:
        shrink: 0.0               # fitted blend weights moved this far (0..1) towards equal
      select: best                # best (by CV) or one candidate's name: mean, blend, stack, <member>
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from podium.config.section import StageSection, SubSection

# XGBoost defaults for a small meta-model on a few dozen probability columns: shallow trees
# and a slow learning rate, stopped early on the inner split.
DEFAULT_META_PARAMS: dict[str, Any] = {
    "n_estimators": 2000,
    "learning_rate": 0.05,
    "max_depth": 3,
    "min_child_weight": 1.0,
    "subsample": 0.8,
    "colsample_bytree": 0.6,
    "reg_lambda": 1.0,
    "tree_method": "hist",
}
# set by the stage itself, per fold and seed; a params entry would silently fight it
RESERVED_META_PARAMS = {"random_state", "seed", "early_stopping_rounds", "eval_metric", "objective"}


def check_meta_params(params: dict[str, Any]) -> None:
    taken = sorted(RESERVED_META_PARAMS & set(params))
    if taken:
        raise ValueError(
            f"{taken} are set by the stage (seeds come from meta.seeds, early stopping "
            "from meta.early_stopping_rounds); remove them from meta.params"
        )


class MemberRef(SubSection):
    config: str


class FeaturesConfig(SubSection):
    logits: bool = False
    # the members' mean probability per class: the blend itself, one column a tree can split on
    mean_proba: bool = False
    row_stats: bool = True
    # columns of train.csv / the test table; true: competition.metadata's (categoricals one-hot)
    metadata: bool | list[str] = Field(default_factory=list)


class MetaConfig(SubSection):
    seeds: list[int] = Field(default_factory=lambda: [0, 1, 2], min_length=1)
    inner_valid_fraction: float = Field(0.2, gt=0, lt=1)
    early_stopping_rounds: int = Field(50, ge=1)
    # after early stopping, refit on all the training folds' rows with that many trees
    refit: bool = False
    # boost from a blend's log-scores (base_margin): none, mean, blend or logit_blend (weights
    # fitted on the training folds, as those candidates' are)
    prior: Literal["none", "mean", "blend", "logit_blend"] = "logit_blend"
    # the number of threads XGBoost uses; null = all cores
    n_jobs: int | None = Field(None, ge=1)
    params: dict[str, Any] = Field(default_factory=dict)

    @field_validator("params")
    @classmethod
    def _not_reserved(cls, v: dict[str, Any]) -> dict[str, Any]:
        check_meta_params(v)
        return v

    def xgb_params(self, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
        """DEFAULT_META_PARAMS, then `params`, then `overrides` (a tune trial's)."""
        merged = {**DEFAULT_META_PARAMS, **self.params, **(overrides or {})}
        if self.n_jobs is not None:
            merged.setdefault("n_jobs", self.n_jobs)
        return merged


class BlendConfig(SubSection):
    # the fitted blends' weights moved this share of the way towards equal weights (of the
    # same total), in every fold and for the test: OOF rows come from one fold model, test
    # rows from the mean of K, so OOF-fitted weights may not be the test's best (#23 item 8;
    # benchmarks/blend_weights.py measures it). 0: the fitted weights as they are.
    shrink: float = Field(0.0, ge=0.0, le=1.0)


class EnsembleConfig(StageSection):
    members: list[str | MemberRef] = Field(min_length=1)
    features: FeaturesConfig = Field(default_factory=FeaturesConfig)
    meta: MetaConfig = Field(default_factory=MetaConfig)
    blend: BlendConfig = Field(default_factory=BlendConfig)
    select: str = "best"

    def member_paths(self, source: str | None) -> list[Path]:
        """Member config files, relative to the ensemble's own file (as `podium train` reads them)."""
        base = Path(source).parent if source else Path(".")
        return [base / (m if isinstance(m, str) else m.config) for m in self.members]

    @classmethod
    def known_names(cls) -> list[str]:
        return sorted(
            {
                f
                for m in (EnsembleConfig, FeaturesConfig, MetaConfig, BlendConfig, MemberRef)
                for f in m.model_fields
            }
        )

    @classmethod
    def location(cls, name: str, loc: tuple[Any, ...]) -> str:
        return name + "".join(
            f"[{p}]" if isinstance(p, int) else f".{p}"
            for p in loc
            if p not in ("str", "MemberRef")  # pydantic's union tags, not user keys
        )
