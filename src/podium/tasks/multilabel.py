"""Multilabel: any number of labels per row, none included (Planet's tags, HPA's proteins,
RANZCR's catheter findings). Targets are read by `tags` (a tags column or one 0/1 column per
label) into a (N, L) 0/1 matrix; the model has one output per label, each an independent
sigmoid (`multilabel_loss`: bce, focal or asl, per-label positive weights, label smoothing);
predictions are per-label probabilities, columns `p_<label>`.

Metrics and thresholds: `multilabel_metrics` (mean column AUC, average precision, F-beta
micro / macro / samples with thresholds fitted on the OOF rows, CV-honestly). Folds:
iterative stratification (`multilabel_folds`). Views, folds and seeds merge by the mean of
probabilities (`prob`) or the sigmoid of the mean logit (`logit`). Blends: the mean, a
simplex-weighted mean (`blend`), one weighted mean per label (`label_blend`) and a weighted
sum of logits (`logit_blend`), each fitted on the binary cross-entropy; the meta-model is
XGBoost's multi-label `XGBClassifier` (`binary:logistic`, one sigmoid per label), boosted from
a blend's logits. Tabular members are fitted one-vs-rest.

The submission (`competition.submission_format`): `label` writes one column of tags, the
labels whose probability reaches its threshold (an empty cell when none does); `proba` writes
one column per label: the probability for ranking metrics (auc, average_precision), the 0/1
decision for F metrics. Pseudo-labels and class samplers need one class per row: refused.
"""

from __future__ import annotations

import copy
import logging
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch
from sklearn.multiclass import OneVsRestClassifier
from xgboost import XGBClassifier

from podium.config import CompetitionConfig, Config, TrainConfig
from podium.errors import ArtifactError, ConfigError, DataError
from podium.metrics import Metric
from podium.tasks import distillation as D
from podium.tasks import multilabel_blends as B
from podium.tasks import tags as T
from podium.tasks.base import Blend, PseudoCandidates, Task
from podium.tasks.multilabel_folds import multilabel_folds
from podium.tasks.multilabel_loss import LOSSES, build_multilabel_loss
from podium.tasks.multilabel_metrics import FBETA, METRICS, oof_decisions

_log = logging.getLogger(__name__)

PROBA_PREFIX = "p_"


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, np.float64)))  # overflow-free


class Multilabel(Task):
    name = "multilabel"
    metrics: ClassVar[dict[str, Metric]] = METRICS
    empty_submission_values = True  # a row with no tag
    decision_keys = ("thresholds",)

    def __init__(self, cfg: CompetitionConfig, source: Path, labels: list[str]) -> None:
        super().__init__(cfg, source)
        self.labels = labels
        # the submission's (`for_submission`)
        self.thresholds: np.ndarray = np.full(len(labels), 0.5)

    @classmethod
    def clean_table(cls, cfg: CompetitionConfig, table: pd.DataFrame, path: Path) -> pd.DataFrame:
        return T.clean_tags(cfg, table, path)

    @classmethod
    def from_table(
        cls,
        cfg: CompetitionConfig,
        train: pd.DataFrame,
        path: Path,
        training: TrainConfig | None = None,
    ) -> Multilabel:
        labels = T.labels_of(cfg, train)
        if not labels:
            raise DataError(f"{path}: no row has a tag in {cfg.target_column!r}; nothing to learn")
        if len(set(labels)) != len(labels):
            raise ConfigError(f"competition.classes lists a label twice: {labels}")
        task = cls(cfg, path, labels)
        counts = task.encode(train, path).sum(axis=0)
        unused = [label for label, n in zip(labels, counts, strict=True) if n == 0]
        if unused:
            _log.warning(
                "%s: label(s) %s have no positive row; they are learnt as absent", path, unused
            )
        return task

    def check_config(self, cfg: Config) -> None:
        tc, comp = cfg.train, cfg.competition
        refused = {
            "train.loss": (
                tc.loss not in LOSSES,
                f"{tc.loss!r} is not a multilabel loss; use one of {list(LOSSES)}",
            ),
            "train.sampler": (
                tc.sampler != "none",
                "class-balanced sampling needs one class per row",
            ),
            "infer.merge": (
                cfg.infer.merge == "geometric",
                "'geometric' renormalises a softmax; use prob (mean of sigmoids) or logit "
                "(sigmoid of the mean logit)",
            ),
            "pseudo": (
                cfg.pseudo is not None,
                "pseudo-labels select one confident class per row; not supported for multilabel",
            ),
        }
        for key, (bad, why) in refused.items():
            if bad:
                raise ConfigError(f"{cfg.source}: {key}: {why} (competition.task: multilabel)")
        sample = cfg.data_dir / comp.sample_submission
        if sample.is_file():
            header = pd.read_csv(sample, dtype=str, nrows=0, keep_default_na=False).columns
            columns = [str(c) for c in header if c != comp.id_column]
            T.check_sample_columns(comp, self.labels, columns, sample)

    # ---- targets ---------------------------------------------------------------------------
    def encode(self, table: pd.DataFrame, path: Path) -> np.ndarray:
        return T.encode_tags(self.cfg, self.labels, table, path)

    def target_frame(self, table: pd.DataFrame) -> pd.DataFrame:
        if T.is_tags(self.cfg):
            return pd.DataFrame({"target": table[self.cfg.target_column].to_numpy()})
        return pd.DataFrame({f"target_{c}": table[c].to_numpy() for c in self.cfg.target_names})

    @property
    def num_outputs(self) -> int:
        return len(self.labels)

    @property
    def columns(self) -> list[str]:
        return [f"{PROBA_PREFIX}{label}" for label in self.labels]

    def training_targets(self, y: np.ndarray) -> np.ndarray:
        return np.asarray(y, np.float32)

    def sampler_labels(self, targets: np.ndarray) -> None:
        return None

    def stratify_key(self, y: np.ndarray) -> np.ndarray:
        """The label set of each row, as an integer (for the meta-model's inner split, which
        stratifies only when every set has two rows; the folds stratify iteratively)."""
        _, key = np.unique(np.asarray(y, np.int8), axis=0, return_inverse=True)
        return key.reshape(-1).astype(np.int64)

    def describe_stratum(self, key: Any) -> str:
        return f"label set #{int(key)}"

    def split_folds(
        self, y: np.ndarray, method: str, n_splits: int, seed: int, groups: np.ndarray | None
    ) -> np.ndarray | None:
        if method not in ("stratified", "stratified_group"):
            return None
        return multilabel_folds(y, n_splits, seed, groups, self.labels, str(self.source))

    # ---- model outputs ---------------------------------------------------------------------
    def build_loss(self, train: TrainConfig, targets: np.ndarray) -> torch.nn.Module:
        return build_multilabel_loss(train, targets)

    def activate(self, logits: np.ndarray) -> np.ndarray:
        return sigmoid(logits)

    def merge(self, logits: np.ndarray, how: str) -> np.ndarray:
        """prob: mean of the sigmoids; logit: sigmoid of the mean logit."""
        if how == "prob":
            return sigmoid(logits).mean(axis=0)
        if how == "logit":
            return sigmoid(np.asarray(logits, np.float64).mean(axis=0))
        raise ConfigError(f"infer.merge: {how!r} does not apply to a multilabel task")

    def validation_loss(self, y: np.ndarray, pred: np.ndarray) -> float:
        return METRICS["log_loss"](y, pred)

    def correct(self, y: np.ndarray, pred: np.ndarray) -> np.ndarray:
        """Rows whose every label is right at 0.5 (exact match), for the McNemar count."""
        return ((np.asarray(pred) >= 0.5) == np.asarray(y, bool)).all(axis=1)

    # ---- decisions -------------------------------------------------------------------------
    @property
    def per_label(self) -> bool:
        return self.cfg.thresholds == "per_label"

    def oof_decisions(
        self, y: np.ndarray, pred: np.ndarray, fold: np.ndarray
    ) -> tuple[np.ndarray, dict[str, Any] | None]:
        return oof_decisions(y, pred, fold, self.cfg.metric, self.per_label, self.labels)

    def for_submission(self, final: dict[str, Any] | None, source: str) -> Multilabel:
        """With the thresholds scores.json fitted on every OOF row (0.5 for a ranking metric,
        whose submission holds probabilities unless it is tags)."""
        out = copy.copy(self)
        fitted = (final or {}).get("thresholds")
        if fitted is None:
            if self.cfg.metric in FBETA:
                raise ArtifactError(
                    f"{source}: no fitted thresholds for {self.cfg.metric}; run `podium oof` "
                    "(or the ensemble) before submitting"
                )
            if self.cfg.submission_format == "label":
                _log.warning(
                    "%s: tags at threshold 0.5 (metric %s fits none)", source, self.cfg.metric
                )
            return out
        if fitted.get("labels") != self.labels:
            raise ArtifactError(
                f"{source}: thresholds fitted for labels {fitted.get('labels')}, the task has "
                f"{self.labels}; re-run oof"
            )
        out.thresholds = np.asarray(fitted["thresholds"], np.float64)
        return out

    # ---- submissions -----------------------------------------------------------------------
    def submission_values(self, pred: np.ndarray, columns: list[str]) -> dict[str, np.ndarray]:
        T.check_sample_columns(self.cfg, self.labels, columns, Path("sample_submission"))
        decided = np.asarray(pred) >= self.thresholds
        if self.cfg.submission_format == "label":
            return {columns[0]: T.decode_tags(decided, self.labels)}
        values = decided.astype(np.int64) if self.cfg.metric in FBETA else pred
        return {c: values[:, self.labels.index(c)] for c in columns}

    def check_submission_column(self, values: pd.Series, column: str, source: str) -> None:
        if self.cfg.submission_format == "label":
            known = set(self.labels)
            for i, tags in enumerate(T.split_tags(values)):
                unknown = [t for t in tags if t not in known]
                if unknown:
                    raise DataError(
                        f"{source}: line {i + 2}, column {column!r} has tag {unknown[0]!r}, "
                        f"not one of the labels {self.labels}"
                    )
            return
        num = pd.to_numeric(values, errors="coerce")
        bad = num.isna() | (num < 0) | (num > 1)
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(
                f"{source}: line {i + 2}, column {column!r} = {values.iloc[i]!r} is not a "
                "probability in [0, 1]"
            )

    def submission_predictions(self, sub: pd.DataFrame, columns: list[str]) -> np.ndarray:
        if self.cfg.submission_format == "label":
            table = pd.DataFrame({self.cfg.target_column: sub[columns[0]].fillna("")})
            return T.encode_tags(self.cfg, self.labels, table, Path("submission")).astype(float)
        pred = np.zeros((len(sub), self.num_outputs))
        for c in columns:
            pred[:, self.labels.index(c)] = sub[c].astype(float)
        return pred

    # ---- ensembles -------------------------------------------------------------------------
    def blends(self) -> dict[str, Blend]:
        return B.BLENDS

    def level2_features(
        self, preds: list[np.ndarray], names: list[str], logits: bool, row_stats: bool, mean: bool
    ) -> tuple[np.ndarray, list[str]]:
        return B.level2_blocks(preds, names, self.labels, logits, row_stats, mean)

    def prior_margin(self, preds: list[np.ndarray], weights: np.ndarray, prior: str) -> np.ndarray:
        return B.prior_logits(preds, weights, prior)

    def meta_estimator(self, params: dict[str, Any]) -> XGBClassifier:
        """XGBoost's multi-label classifier: one sigmoid per label (`binary:logistic`); its
        `multi_strategy` (one tree per label by default, `multi_output_tree` for trees with a
        leaf vector) can be set in `ensemble.meta.params`."""
        return XGBClassifier(**params, objective="binary:logistic", eval_metric="logloss")

    def meta_predict(self, model: Any, x: np.ndarray, margin: np.ndarray | None) -> np.ndarray:
        return np.asarray(model.predict_proba(x, base_margin=margin)).reshape(len(x), -1)

    def tabular_model(self, model: Any) -> OneVsRestClassifier:
        return OneVsRestClassifier(model)

    # ---- pseudo-labels ---------------------------------------------------------------------
    def distill_targets(self, pred: np.ndarray, temperature: float) -> np.ndarray:
        return D.softened_sigmoid(pred, temperature)

    def distill_loss(self, logits: torch.Tensor, soft: torch.Tensor, temperature: float):
        return D.sigmoid_cross_entropy(logits, soft, temperature)

    def _no_pseudo(self) -> ConfigError:
        return ConfigError("pseudo: pseudo-labels are not supported for a multilabel task")

    def pseudo_candidates(self, pred: np.ndarray) -> PseudoCandidates:
        raise self._no_pseudo()

    @property
    def label_names(self) -> list[str]:
        return list(self.labels)

    def pseudo_targets(self, pred: np.ndarray, soft: bool) -> np.ndarray:
        raise self._no_pseudo()
