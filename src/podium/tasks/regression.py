"""Regression: one or several numeric targets per row (`competition.target_column`, or a list
`competition.target_columns: [a, b]`). The model has one output per target; predictions are
values in the target's units, columns `pred_<target>`; the submission writes them (clipped to
train.csv's range with `competition.clip: true`).

Output scale. The network never sees raw units: it trains on scaled targets and `activate`
maps its outputs back, so oof/test files, blends, the meta-model and the submission all work
in target units whatever the loss:

    mse, huber, l1   z = (y - mean) / std          pred = out * std + mean
    bce              t = (y - min) / (max - min)   pred = sigmoid(out) * (max - min) + min

`bce` is BCE-with-logits on the min-max scaled target (PetFinder's trick: bounded outputs, a
smooth loss near the ends); `huber` has delta 1, i.e. one standard deviation of the target.

The scaler is fitted once, on every row of train.csv, when the task is built (`from_table`):
the Task seam has no fold, and `activate` must invert the same scale in oof, infer and the
trainer. That leaks each validation fold's share of the target's mean/std (or min/max) into
the scaling of the other folds' training targets: an affine rescale of the targets, with no
row-level information, so the CV it can flatter is negligible (the same holds for the
stratification bins). The validation metric and loss are computed in target units.

Folds stratify on quantile bins of the targets (the mean z-score with several); views, folds
and seeds merge by the mean of values (`infer.merge: prob`) or by the value of the mean output
(`logit`); blends are the mean and a simplex-weighted mean fitted on MSE; the meta-model is an
XGBRegressor (`reg:squarederror`) boosted from a blend's values. Tabular members are
regressors (`tabular.model: ridge | svr`, fitted on the values). Pseudo-labels, class samplers
and weights, label smoothing and probability submissions need classes: `check_config` refuses
them, naming the key.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch
from xgboost import XGBRegressor

from podium.config import CompetitionConfig, Config, TrainConfig
from podium.errors import ConfigError, DataError
from podium.metrics import Metric
from podium.tasks import distillation as D
from podium.tasks.base import Blend, PseudoCandidates, Task
from podium.tasks.blending import fit_simplex_weights, weighted
from podium.tasks.losses import LOSSES, RegressionLoss
from podium.tasks.values import MAE, METRICS, MSE, parse_values, warn_far_values

PRED_PREFIX = "pred_"
MAX_BINS = 10  # stratification: quantile bins of the target
ROWS_PER_BIN = 25  # at least this many rows per bin (fewer bins on small tables)


class Regression(Task):
    name = "regression"
    metrics: ClassVar[dict[str, Metric]] = METRICS
    predicts_values = True

    def __init__(
        self, cfg: CompetitionConfig, source: Path, values: np.ndarray, loss: str = "mse"
    ) -> None:
        super().__init__(cfg, source)
        self.targets = cfg.target_names
        self.loss = loss if loss in LOSSES else "mse"  # another task's loss: check_config refuses
        self.low, self.high = values.min(axis=0), values.max(axis=0)
        self.mean, self.std = values.mean(axis=0), values.std(axis=0)
        self.std = np.where(self.std > 0, self.std, 1.0)
        if self.loss == "bce":
            span = self.high - self.low
            self.center, self.scale = self.low, np.where(span > 0, span, 1.0)
        else:
            self.center, self.scale = self.mean, self.std

    @classmethod
    def clean_table(cls, cfg: CompetitionConfig, table: pd.DataFrame, path: Path) -> pd.DataFrame:
        names = cfg.target_names
        values = parse_values(table, names, cfg.id_column, path)
        return table.assign(**{c: values[:, j] for j, c in enumerate(names)})

    @classmethod
    def from_table(
        cls,
        cfg: CompetitionConfig,
        train: pd.DataFrame,
        path: Path,
        training: TrainConfig | None = None,
    ) -> Regression:
        values = parse_values(train, cfg.target_names, cfg.id_column, path)
        warn_far_values(values, train, cfg.target_names, path, cfg.id_column)
        return cls(cfg, path, values, training.loss if training is not None else "mse")

    def check_config(self, cfg: Config) -> None:
        for key, (bad, why) in self.refusals(cfg).items():
            if bad:
                raise ConfigError(f"{cfg.source}: {key}: {why} (competition.task: {self.name})")

    @property
    def a_name(self) -> str:
        """The task's name with its article, for messages ("a regression", "an ordinal")."""
        return f"{'an' if self.name[0] in 'aeiou' else 'a'} {self.name}"

    def refusals(self, cfg: Config) -> dict[str, tuple[bool, str]]:
        """key -> (is the setting refused?, why): what a value task cannot honour."""
        tc, comp = cfg.train, cfg.competition
        refused = {
            "train.loss": (
                tc.loss not in LOSSES,
                f"{tc.loss!r} is a classification loss; {self.a_name} task takes {list(LOSSES)}",
            ),
            "train.sampler": (tc.sampler != "none", "class-balanced sampling needs classes"),
            "train.class_weights": (tc.class_weights != "none", "class weights need classes"),
            "train.label_smoothing": (tc.label_smoothing > 0, "smoothing needs class labels"),
            "infer.merge": (
                cfg.infer.merge == "geometric",
                "'geometric' multiplies probabilities; use prob (mean of values) or logit "
                "(value of the mean output)",
            ),
            "competition.submission_format": (
                comp.submission_format != "label",
                f"'proba' needs classes; {self.a_name} submission holds the values",
            ),
            "competition.classes": (comp.classes is not None, f"{self.a_name} task has no classes"),
            "pseudo": (
                cfg.pseudo is not None,
                f"pseudo-labels select confident classes; {self.a_name} task has none",
            ),
        }
        if cfg.ensemble is not None:
            # MetaConfig's default prior is logit_blend, a blend of log-probabilities
            meta = cfg.ensemble.get("meta") or {}
            prior = meta.get("prior", "logit_blend") if isinstance(meta, dict) else None
            refused["ensemble.meta.prior"] = (
                prior == "logit_blend",
                "'logit_blend' (the default) weights log-probabilities; set blend, mean or none",
            )
        return refused

    # ---- targets ---------------------------------------------------------------------------
    def encode(self, table: pd.DataFrame, path: Path) -> np.ndarray:
        return parse_values(table, self.targets, self.cfg.id_column, path)

    def target_frame(self, table: pd.DataFrame) -> pd.DataFrame:
        if len(self.targets) == 1:
            return pd.DataFrame({"target": table[self.targets[0]].to_numpy()})
        return pd.DataFrame({f"target_{t}": table[t].to_numpy() for t in self.targets})

    @property
    def num_outputs(self) -> int:
        return len(self.targets)

    @property
    def columns(self) -> list[str]:
        return [f"{PRED_PREFIX}{t}" for t in self.targets]

    def training_targets(self, y: np.ndarray) -> np.ndarray:
        return ((np.asarray(y, np.float64) - self.center) / self.scale).astype(np.float32)

    def sampler_labels(self, targets: np.ndarray) -> np.ndarray | None:
        return None

    def stratify_key(self, y: np.ndarray) -> np.ndarray:
        """Quantile bins of the target (of the mean z-score with several): up to 10, with at
        least 25 rows each."""
        score = ((np.asarray(y, np.float64) - self.mean) / self.std).reshape(len(y), -1).mean(1)
        bins = int(np.clip(len(score) // ROWS_PER_BIN, 1, MAX_BINS))
        if bins == 1:
            return np.zeros(len(score), dtype=np.int64)
        key = pd.qcut(score, q=bins, labels=False, duplicates="drop")
        return np.asarray(key, dtype=np.int64)

    def describe_stratum(self, key: Any) -> str:
        return f"target quantile bin {int(key)}"

    # ---- model outputs ---------------------------------------------------------------------
    def build_loss(self, train: TrainConfig, targets: np.ndarray) -> torch.nn.Module:
        return RegressionLoss(train.loss if train.loss in LOSSES else self.loss)

    def activate(self, logits: np.ndarray) -> np.ndarray:
        out = np.asarray(logits, np.float64)
        if self.loss == "bce":
            out = 0.5 * (1.0 + np.tanh(0.5 * out))  # the sigmoid, overflow-free
        return out * self.scale + self.center

    def merge(self, logits: np.ndarray, how: str) -> np.ndarray:
        """prob: mean of the values; logit: the value of the mean output (the same unless the
        loss is bce, whose sigmoid is not linear)."""
        if how == "prob":
            return self.activate(logits).mean(axis=0)
        if how == "logit":
            return self.activate(np.asarray(logits).mean(axis=0))
        raise ConfigError(f"infer.merge: {how!r} does not apply to {self.a_name} task")

    def validation_loss(self, y: np.ndarray, pred: np.ndarray) -> float:
        """The loss in target units: MAE for `l1`, MSE otherwise."""
        return self._loss_metric(y, pred)

    @property
    def _loss_metric(self) -> Metric:
        return MAE if self.loss == "l1" else MSE

    def metric(self, name: str | None = None) -> Metric:
        """`log_loss` (the name every score file gives the validation loss) is the task's."""
        return self._loss_metric if name == "log_loss" else super().metric(name)

    def correct(self, y: np.ndarray, pred: np.ndarray) -> np.ndarray | None:
        return None

    # ---- submissions -----------------------------------------------------------------------
    def _target_of(self, columns: list[str]) -> dict[str, int]:
        """Submission column -> target index: by name, or the one column of a one-target task."""
        if len(columns) == 1 and len(self.targets) == 1:
            return {columns[0]: 0}
        unknown = [c for c in columns if c not in self.targets]
        if unknown:
            raise DataError(f"sample_submission columns {unknown} are not targets {self.targets}")
        return {c: self.targets.index(c) for c in columns}

    def submission_values(self, pred: np.ndarray, columns: list[str]) -> dict[str, np.ndarray]:
        out = {}
        for column, j in self._target_of(columns).items():
            values = pred[:, j]
            out[column] = np.clip(values, self.low[j], self.high[j]) if self.cfg.clip else values
        return out

    def check_submission_column(self, values: pd.Series, column: str, source: str) -> None:
        num = pd.to_numeric(values, errors="coerce").to_numpy(np.float64)
        bad = ~np.isfinite(num)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataError(
                f"{source}: line {i + 2}, column {column!r} = {values.iloc[i]!r} is not a number"
            )

    def submission_predictions(self, sub: pd.DataFrame, columns: list[str]) -> np.ndarray:
        pred = np.zeros((len(sub), self.num_outputs))
        for column, j in self._target_of(columns).items():
            pred[:, j] = sub[column].astype(float)
        return pred

    # ---- ensembles -------------------------------------------------------------------------
    def blends(self) -> dict[str, Blend]:
        return {"blend": Blend(partial(fit_simplex_weights, loss=MSE), weighted, "weights")}

    def level2_features(
        self, preds: list[np.ndarray], names: list[str], logits: bool, row_stats: bool, mean: bool
    ) -> tuple[np.ndarray, list[str]]:
        """Each member's values; with several members their mean (`mean_proba`) and their
        spread across members (`row_stats`). `logits` has no meaning here."""
        blocks = list(preds)
        out = [f"{name}:{c}" for name in names for c in self.columns]
        if len(preds) > 1:
            stacked = np.stack(preds)
            if mean:
                blocks.append(stacked.mean(axis=0))
                out += [f"mean:{c}" for c in self.columns]
            if row_stats:
                blocks.append(stacked.std(axis=0))
                out += [f"std:{c}" for c in self.columns]
        return np.concatenate(blocks, axis=1), out

    def prior_margin(self, preds: list[np.ndarray], weights: np.ndarray, prior: str) -> np.ndarray:
        values = weighted(preds, weights)
        return values[:, 0] if values.shape[1] == 1 else values

    def meta_estimator(self, params: dict[str, Any]) -> XGBRegressor:
        return XGBRegressor(**params, objective="reg:squarederror", eval_metric="rmse")

    def meta_predict(self, model: Any, x: np.ndarray, margin: np.ndarray | None) -> np.ndarray:
        return np.asarray(model.predict(x, base_margin=margin)).reshape(len(x), -1)

    # ---- pseudo-labels ---------------------------------------------------------------------
    def distill_targets(self, pred: np.ndarray, temperature: float) -> np.ndarray:
        return self.training_targets(pred)  # temperature softens probabilities: not values

    def distill_loss(self, logits: torch.Tensor, soft: torch.Tensor, temperature: float):
        return D.value_error(logits, soft, scaled_bce=self.loss == "bce")

    def _no_pseudo(self) -> ConfigError:
        return ConfigError(f"pseudo: pseudo-labels are not supported for {self.a_name} task")

    def pseudo_candidates(self, pred: np.ndarray) -> PseudoCandidates:
        raise self._no_pseudo()

    @property
    def label_names(self) -> list[str]:
        return list(self.targets)

    def pseudo_targets(self, pred: np.ndarray, soft: bool) -> np.ndarray:
        raise self._no_pseudo()
