"""Classification: one label per row among the competition's classes (`multiclass`), or two
classes whose positive one the submission scores (`binary`). The model has one output per
class, trained with a soft-target cross-entropy (one-hot labels, mixup, soft pseudo-labels);
predictions are class probabilities, columns `p_<class>`.

Labels are mapped to class indices here and only here: numeric labels sort numerically
('10' after '9'), others lexically, unless `competition.classes` fixes the order.
"""

from __future__ import annotations

import logging
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch
from xgboost import XGBClassifier

from podium.config import CompetitionConfig, Config, TrainConfig
from podium.errors import ConfigError, DataError
from podium.metrics import METRICS, Metric
from podium.tasks import distillation as D
from podium.tasks import probability as P
from podium.tasks.base import Blend, PseudoCandidates, Task
from podium.tasks.blending import fit_simplex_weights, weighted
from podium.tasks.losses import build_loss

_log = logging.getLogger(__name__)

PROBA_PREFIX = "p_"


def clean_labels(labels: pd.Series, path: Path, ids: pd.Series | None = None) -> pd.Series:
    """Labels as classes: surrounding spaces stripped (' a' is 'a'); an empty or NaN label is
    refused with its line; labels that look like one class written two ways ('1' and '1.0',
    'Cat' and 'cat') are logged as a warning, since they become two classes."""
    labels = labels.astype(str).str.strip()
    missing = labels.eq("") | labels.str.lower().eq("nan")
    if missing.any():
        i = int(np.flatnonzero(missing.to_numpy())[0])
        which = f" (id {ids.iloc[i]!r})" if ids is not None else ""
        what = "an empty label" if labels.iloc[i] == "" else f"a missing label ({labels.iloc[i]!r})"
        raise DataError(f"{path}: line {i + 2}{which} has {what}")
    seen: dict[object, set[str]] = {}
    for label in labels.unique():
        try:
            key: object = float(label)
        except ValueError:
            key = label.casefold()
        seen.setdefault(key, set()).add(label)
    for same in (sorted(v) for v in seen.values() if len(v) > 1):
        _log.warning(
            "%s: labels %s look like one class written %d ways; they are %d classes",
            path,
            same,
            len(same),
            len(same),
        )
    return labels


def class_order(labels: list[str]) -> list[str]:
    """Numeric labels sort numerically ('10' after '9'), others lexically."""
    try:
        return sorted(labels, key=float)
    except ValueError:
        return sorted(labels)


class Classification(Task):
    metrics: ClassVar[dict[str, Metric]] = METRICS

    def __init__(self, cfg: CompetitionConfig, source: Path, classes: list[str]) -> None:
        super().__init__(cfg, source)
        self.classes = classes
        self._index = {c: i for i, c in enumerate(classes)}

    @classmethod
    def clean_table(cls, cfg: CompetitionConfig, table: pd.DataFrame, path: Path) -> pd.DataFrame:
        ids = table[cfg.id_column] if cfg.id_column in table.columns else None
        return table.assign(
            **{cfg.target_column: clean_labels(table[cfg.target_column], path, ids)}
        )

    @classmethod
    def from_table(
        cls,
        cfg: CompetitionConfig,
        train: pd.DataFrame,
        path: Path,
        training: TrainConfig | None = None,
    ) -> Classification:
        if cfg.classes is not None:
            classes = [str(c) for c in cfg.classes]
        else:
            classes = class_order(train[cfg.target_column].unique().tolist())
        if len(classes) < 2:
            raise DataError(
                f"{path} has one class ({classes[0]!r}); a classifier needs at least two"
            )
        return cls(cfg, path, classes)

    def check_config(self, cfg: Config) -> None:
        if cfg.train.loss not in ("ce", "focal"):
            raise ConfigError(
                f"train.loss: {cfg.train.loss!r} is a regression loss; a {self.name} task "
                "takes ce or focal"
            )
        refuse_labels_for_a_probability_metric(self, cfg)

    # ---- targets ---------------------------------------------------------------------------
    def encode(self, table: pd.DataFrame, path: Path) -> np.ndarray:
        labels = table[self.cfg.target_column].astype(str)
        unknown = ~labels.isin(self.classes)
        if unknown.any():
            i = int(np.flatnonzero(unknown.to_numpy())[0])
            raise DataError(
                f"{path}: line {i + 2} (id {table[self.cfg.id_column].iloc[i]!r}) has label "
                f"{labels.iloc[i]!r}, which is not one of the classes {self.classes}"
            )
        return labels.map(self._index).to_numpy(np.int64)

    def decode(self, indices: np.ndarray) -> np.ndarray:
        return np.asarray(self.classes, dtype=object)[np.asarray(indices)]

    def target_frame(self, table: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"target": table[self.cfg.target_column].to_numpy()})

    @property
    def num_outputs(self) -> int:
        return len(self.classes)

    @property
    def columns(self) -> list[str]:
        return [f"{PROBA_PREFIX}{c}" for c in self.classes]

    def training_targets(self, y: np.ndarray) -> np.ndarray:
        return np.eye(self.num_outputs, dtype=np.float32)[y]

    def sampler_labels(self, targets: np.ndarray) -> np.ndarray:
        return P.labels_of(targets)

    def stratify_key(self, y: np.ndarray) -> np.ndarray:
        return y

    def describe_stratum(self, key: Any) -> str:
        return f"class {self.classes[int(key)]!r}"

    # ---- model outputs ---------------------------------------------------------------------
    def build_loss(self, train: TrainConfig, targets: np.ndarray) -> torch.nn.Module:
        return build_loss(train, self.sampler_labels(targets), self.num_outputs)

    def activate(self, logits: np.ndarray) -> np.ndarray:
        return P.softmax(logits)

    def merge(self, logits: np.ndarray, how: str) -> np.ndarray:
        return P.merge_logits(logits, how)

    def validation_loss(self, y: np.ndarray, pred: np.ndarray) -> float:
        return METRICS["log_loss"](y, pred)

    def correct(self, y: np.ndarray, pred: np.ndarray) -> np.ndarray:
        return P.labels_of(pred) == y

    # ---- submissions -----------------------------------------------------------------------
    def submission_values(self, pred: np.ndarray, columns: list[str]) -> dict[str, np.ndarray]:
        if self.cfg.submission_format == "label":
            if len(columns) != 1:
                raise DataError(
                    "submission_format=label needs one target column in sample_submission, "
                    f"found {columns}"
                )
            return {columns[0]: self.decode(P.labels_of(pred))}
        unknown = [c for c in columns if c not in self._index]
        if unknown:
            raise DataError(f"sample_submission columns {unknown} are not classes {self.classes}")
        return {c: pred[:, self._index[c]] for c in columns}

    def check_submission_column(self, values: pd.Series, column: str, source: str) -> None:
        if self.cfg.submission_format == "label":
            bad = ~values.astype(str).isin(self.classes)
            what = f"not a class {self.classes}"
        else:
            num = pd.to_numeric(values, errors="coerce")
            bad = num.isna() | (num < 0) | (num > 1)
            what = "not a probability in [0, 1]"
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(
                f"{source}: line {i + 2}, column {column!r} = {values.iloc[i]!r} is {what}"
            )

    def submission_predictions(self, sub: pd.DataFrame, columns: list[str]) -> np.ndarray:
        if self.cfg.submission_format == "label":
            return np.eye(self.num_outputs)[self.encode(sub, Path("submission"))]
        pred = np.zeros((len(sub), self.num_outputs))
        for c in columns:
            pred[:, self._index[c]] = sub[c].astype(float)
        return pred

    # ---- ensembles -------------------------------------------------------------------------
    def blends(self) -> dict[str, Blend]:
        log_loss = METRICS["log_loss"]
        return {
            "blend": Blend(partial(fit_simplex_weights, loss=log_loss), weighted, "weights"),
            "logit_blend": Blend(P.fit_logit_weights, P.logit_weighted, "log-prob weights"),
        }

    def level2_features(
        self, preds: list[np.ndarray], names: list[str], logits: bool, row_stats: bool, mean: bool
    ) -> tuple[np.ndarray, list[str]]:
        return P.level2_blocks(preds, names, self.classes, logits, row_stats, mean)

    def prior_margin(self, preds: list[np.ndarray], weights: np.ndarray, prior: str) -> np.ndarray:
        scores = P.prior_scores(preds, weights, prior)
        # with two classes XGBoost fits one margin: the positive class's logit
        return scores[:, 1] - scores[:, 0] if scores.shape[1] == 2 else scores

    def meta_estimator(self, params: dict[str, Any]) -> XGBClassifier:
        eval_metric = "mlogloss" if self.num_outputs > 2 else "logloss"
        return XGBClassifier(**params, eval_metric=eval_metric)

    def meta_predict(self, model: Any, x: np.ndarray, margin: np.ndarray | None) -> np.ndarray:
        return model.predict_proba(x, base_margin=margin)

    # ---- pseudo-labels ---------------------------------------------------------------------
    def pseudo_candidates(self, pred: np.ndarray) -> PseudoCandidates:
        group = P.labels_of(pred)
        return PseudoCandidates(group, self.num_outputs, pred.max(axis=1), self.decode(group))

    @property
    def label_names(self) -> list[str]:
        return list(self.classes)

    def distill_targets(self, pred: np.ndarray, temperature: float) -> np.ndarray:
        return D.softened(pred, temperature)

    def distill_loss(
        self, logits: torch.Tensor, soft: torch.Tensor, temperature: float
    ) -> torch.Tensor:
        return D.soft_cross_entropy(logits, soft, temperature)

    def pseudo_targets(self, pred: np.ndarray, soft: bool) -> np.ndarray:
        if soft:
            p = pred.astype(np.float32)
            return p / p.sum(1, keepdims=True)
        return self.training_targets(P.labels_of(pred))


def refuse_labels_for_a_probability_metric(task: Classification, cfg: Config) -> None:
    """A metric that ranks or weighs probabilities (auc, log_loss) scores a submission of
    hard labels as something else than the CV says (a binary AUC of 1.0 in CV, of 0/1 labels
    on the leaderboard): the submission must hold the probabilities."""
    metric = task.metrics.get(cfg.competition.metric)
    if metric is not None and metric.needs_proba and cfg.competition.submission_format == "label":
        raise ConfigError(
            f"{cfg.source}: competition.metric {metric.name!r} scores probabilities, but "
            "competition.submission_format is 'label' (hard labels would be scored, not the "
            "CV's probabilities); set competition.submission_format: proba"
        )


class Multiclass(Classification):
    name = "multiclass"


class Binary(Classification):
    """Two classes; the model keeps a 2-way softmax (the same head and loss as multiclass).
    A submission with one target column that is not a class name holds the probability of
    the positive class, `competition.classes[1]` (Kaggle's binary format)."""

    name = "binary"

    def __init__(self, cfg: CompetitionConfig, source: Path, classes: list[str]) -> None:
        super().__init__(cfg, source, classes)
        if len(classes) != 2:
            raise DataError(
                f"{source}: a binary task needs exactly two classes, found {len(classes)}: {classes}"
            )

    def _positive_column(self, columns: list[str]) -> bool:
        return len(columns) == 1 and columns[0] not in self._index

    def submission_values(self, pred: np.ndarray, columns: list[str]) -> dict[str, np.ndarray]:
        if self.cfg.submission_format == "proba" and self._positive_column(columns):
            return {columns[0]: pred[:, 1]}
        return super().submission_values(pred, columns)

    def submission_predictions(self, sub: pd.DataFrame, columns: list[str]) -> np.ndarray:
        if self.cfg.submission_format == "proba" and self._positive_column(columns):
            p = sub[columns[0]].astype(float).to_numpy()
            return np.stack([1 - p, p], axis=1)
        return super().submission_predictions(sub, columns)
