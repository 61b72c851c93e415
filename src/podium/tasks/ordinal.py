"""Ordinal: one integer grade per row (APTOS: 0-4), scored by quadratic weighted kappa.

Grades are `competition.grades` or, by default, every integer from train.csv's lowest grade
to its highest (a grade absent from train still sits between its neighbours). A target that
is not an integer, or not one of the grades, is an error naming its line.

The model predicts on the grade scale; predictions are one value per row, `pred_<target>`,
whatever the head (`competition.ordinal_head`):

    regression    one output, a Regression on the grade (mse, huber, l1 or bce on the scaled
                  grade, `podium.tasks.regression`): pred = the value
    expectation   one output per grade, soft-target cross-entropy on the grade as a class
                  (ce or focal; label smoothing, class weights and samplers apply):
                  pred = sum_g softmax(logits)_g * g, the expected grade

Views, folds and seeds merge in the head's space: the mean of values (regression), or the
probabilities merged (`infer.merge`: prob, logit, geometric) and then their expected grade.
Blends, the meta-model (XGBRegressor, `reg:squarederror`) and tabular regressors all work on
these values, as for a regression.

Decisions. QWK scores grades, so values become grades through cut-points
(`podium.cutpoints`). Where the folds are known (`decided_scores`: oof, tabular, the ensemble's
candidates) the reported QWK is CV-honest: fold k graded with cut-points fitted on the other
folds; the cut-points fitted on every OOF row are saved in scores.json (`final.cutpoints`) and
grade the test rows of the submission (`decide`); the ensemble's paired comparison counts
the CV-graded grades (`decided_oof`). Where no folds are known (an epoch's validation score,
the nested selection's per-fold choice, a submitted file) the QWK is that of the values
rounded to the nearest grade, which fits nothing. The validation loss is the MSE in grade
units for both heads, so members with different heads compare. Pseudo-labels are refused.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch

from podium.config import CompetitionConfig, Config, TrainConfig
from podium.cutpoints import apply_cutpoints, fit_cutpoints_cv, midpoint_cuts
from podium.errors import ArtifactError, DataError
from podium.metric_fns import quadratic_weighted_kappa
from podium.metrics import Metric
from podium.tasks import probability as P
from podium.tasks.losses import build_loss
from podium.tasks.regression import Regression
from podium.tasks.values import MSE, parse_values

_log = logging.getLogger(__name__)

HEADS = ("regression", "expectation")
CLASS_LOSSES = ("ce", "focal")


def _qwk_rounded(y: np.ndarray, p: np.ndarray, grades: np.ndarray | None = None) -> float:
    """QWK of the values rounded to the nearest grade (clipped to the grade range); grades
    default to every integer between the lowest and highest target."""
    y = np.asarray(y).reshape(len(y), -1)[:, 0]
    if grades is None:
        grades = np.arange(int(y.min()), max(int(y.max()), int(y.min()) + 1) + 1)
    x = np.asarray(p, np.float64).reshape(len(y), -1)[:, 0]
    return quadratic_weighted_kappa(y, apply_cutpoints(x, midpoint_cuts(grades), grades), grades)


def parse_grades(
    table: pd.DataFrame,
    cfg: CompetitionConfig,
    path: Path,
    grades: np.ndarray | list[int] | None = None,
) -> np.ndarray:
    """(N, 1) float64 grades; a non-integer value, or one that is not in `grades`, names its
    line and id."""
    column = cfg.target_column
    values = parse_values(table, [column], cfg.id_column, path)
    v = values[:, 0]
    bad = v != np.round(v)
    if grades is not None:
        bad |= ~np.isin(v, np.asarray(grades, np.float64))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        which = f" (id {table[cfg.id_column].iloc[i]!r})" if cfg.id_column in table.columns else ""
        text = str(table[column].iloc[i]).strip()
        what = (
            "not an integer grade"
            if v[i] != np.round(v[i])
            else f"not one of the grades {[int(g) for g in np.asarray(grades)]}"
        )
        raise DataError(f"{path}: line {i + 2}{which}, column {column!r} has {text!r}, {what}")
    return values


def warn_absent_grades(values: np.ndarray, grades: np.ndarray, path: Path) -> None:
    """A grade with no training row cannot be predicted: the cut-points that grade the
    predictions are fitted on rows of each grade (and a head has no example of it)."""
    absent = [int(g) for g in grades if not (values == g).any()]
    if absent:
        _log.warning(
            "%s: grade(s) %s of the grades %s have no row in the train table; they cannot be "
            "predicted (no cut-point or output learns them), while QWK still counts the "
            "distances across them; set competition.grades to the grades that exist if the "
            "metric scores only those",
            path,
            absent,
            [int(g) for g in grades],
        )


class Ordinal(Regression):
    name = "ordinal"
    metrics: ClassVar[dict[str, Metric]] = {"qwk": Metric("qwk", _qwk_rounded, True, False)}
    decides = True
    decision_keys = ("cutpoints",)

    def __init__(
        self,
        cfg: CompetitionConfig,
        source: Path,
        values: np.ndarray,
        grades: np.ndarray,
        loss: str = "mse",
    ) -> None:
        super().__init__(cfg, source, values, loss)
        self.grades = np.asarray(grades, dtype=np.int64)
        self.head = cfg.ordinal_head
        self.train_loss = loss

    @property
    def expectation(self) -> bool:
        return self.head == "expectation"

    @classmethod
    def clean_table(cls, cfg: CompetitionConfig, table: pd.DataFrame, path: Path) -> pd.DataFrame:
        values = parse_grades(table, cfg, path, cfg.grades)
        return table.assign(**{cfg.target_column: values[:, 0]})

    @classmethod
    def from_table(
        cls,
        cfg: CompetitionConfig,
        train: pd.DataFrame,
        path: Path,
        training: TrainConfig | None = None,
    ) -> Ordinal:
        values = parse_grades(train, cfg, path, cfg.grades)
        if cfg.grades is not None:
            grades = np.asarray(sorted(cfg.grades), dtype=np.int64)
        else:
            low, high = int(values.min()), int(values.max())
            grades = np.arange(low, high + 1, dtype=np.int64)
        if len(grades) < 2:
            raise DataError(f"{path} has one grade ({int(grades[0])}); QWK needs at least two")
        warn_absent_grades(values[:, 0], grades, path)
        default = "ce" if cfg.ordinal_head == "expectation" else "mse"
        return cls(cfg, path, values, grades, training.loss if training is not None else default)

    def refusals(self, cfg: Config) -> dict[str, tuple[bool, str]]:
        refused = super().refusals(cfg)
        if self.expectation:  # a classifier over grades: class settings apply
            for key in ("train.sampler", "train.class_weights", "train.label_smoothing"):
                refused.pop(key)
            refused["infer.merge"] = (False, "")
            refused["train.loss"] = (
                cfg.train.loss not in CLASS_LOSSES,
                f"{cfg.train.loss!r} is a regression loss; competition.ordinal_head: expectation "
                f"takes {list(CLASS_LOSSES)} (or set ordinal_head: regression)",
            )
        return refused

    # ---- targets ---------------------------------------------------------------------------
    def encode(self, table: pd.DataFrame, path: Path) -> np.ndarray:
        return parse_grades(table, self.cfg, path, self.grades)

    def index(self, y: np.ndarray) -> np.ndarray:
        """Positions of the grades `y` (N,) or (N, 1) in `self.grades`."""
        return np.searchsorted(self.grades, np.asarray(y).reshape(len(y), -1)[:, 0])

    @property
    def num_outputs(self) -> int:
        return len(self.grades) if self.expectation else 1

    def training_targets(self, y: np.ndarray) -> np.ndarray:
        if self.expectation:
            return np.eye(len(self.grades), dtype=np.float32)[self.index(y)]
        return super().training_targets(y)

    def sampler_labels(self, targets: np.ndarray) -> np.ndarray | None:
        return np.asarray(targets).argmax(axis=1) if self.expectation else None

    def stratify_key(self, y: np.ndarray) -> np.ndarray:
        """The grade itself (as its position among the grades)."""
        return self.index(y).astype(np.int64)

    def describe_stratum(self, key: Any) -> str:
        return f"grade {int(self.grades[int(key)])}"

    # ---- model outputs ---------------------------------------------------------------------
    def build_loss(self, train: TrainConfig, targets: np.ndarray) -> torch.nn.Module:
        if self.expectation:
            return build_loss(train, np.asarray(targets).argmax(axis=1), len(self.grades))
        return super().build_loss(train, targets)

    def _expected(self, proba: np.ndarray) -> np.ndarray:
        return proba @ self.grades.astype(np.float64)[:, None]

    def activate(self, logits: np.ndarray) -> np.ndarray:
        if self.expectation:
            return self._expected(P.softmax(np.asarray(logits, np.float64)))
        return super().activate(logits)

    def merge(self, logits: np.ndarray, how: str) -> np.ndarray:
        """expectation: probabilities merged (`infer.merge`), then their expected grade."""
        if self.expectation:
            return self._expected(P.merge_logits(np.asarray(logits, np.float64), how))
        return super().merge(logits, how)

    @property
    def _loss_metric(self) -> Metric:
        return MSE  # in grade units, for either head: members with different heads compare

    def rounded(self, pred: np.ndarray) -> np.ndarray:
        """Values (N, 1) rounded to the nearest grade (clipped to the grade range), (N,)."""
        x = np.asarray(pred, np.float64).reshape(len(pred), -1)[:, 0]
        return apply_cutpoints(x, midpoint_cuts(self.grades), self.grades)

    def metric(self, name: str | None = None) -> Metric:
        """qwk: of the values rounded to the nearest grade (no folds known here); the scoring
        path replaces it by the CV-honest cut-point QWK (`decided_scores`)."""
        if (name or self.cfg.metric) == "qwk":
            return Metric("qwk", lambda y, p: _qwk_rounded(y, p, self.grades), True, False)
        return super().metric(name)

    def correct(self, y: np.ndarray, pred: np.ndarray) -> np.ndarray:
        return self.rounded(pred) == np.asarray(y).reshape(len(y), -1)[:, 0]

    # ---- decisions: cut-points fitted on OOF rows ------------------------------------------
    def decided_scores(
        self, y: np.ndarray, pred: np.ndarray, fold: np.ndarray, block: dict[str, Any]
    ) -> dict[str, Any]:
        """The block with QWK graded by cut-points fitted without each row's fold (overall and
        per fold), the cut-points (per fold and on every row), and secondary figures: the
        rounded grades' QWK and accuracy, the cut grades' accuracy, the values' RMSE."""
        if len(np.unique(fold)) < 2:
            return block
        g = np.asarray(y).reshape(len(y), -1)[:, 0].astype(np.int64)
        x = np.asarray(pred, np.float64).reshape(len(pred), -1)[:, 0]
        fit = fit_cutpoints_cv(g, x, fold, self.grades)
        folds = {
            k: {**block["folds"][k], "qwk": float(s)}
            for k, s in zip(fit.folds.tolist(), fit.fold_qwk, strict=True)
        }
        return {
            **block,
            "qwk": fit.cv_qwk,
            "fold_mean": float(fit.fold_qwk.mean()),
            "fold_std": float(fit.fold_qwk.std()),
            "folds": folds,
            "cutpoints": fit.to_dict(),
            "secondary": {
                "rmse": float(np.sqrt(np.mean((x - g) ** 2))),
                "accuracy": float(np.mean(fit.oof_grades == g)),
                "rounded_qwk": fit.rounded_qwk,
                "rounded_accuracy": float(np.mean(self.rounded(pred) == g)),
            },
        }

    def decided_oof(self, y: np.ndarray, pred: np.ndarray, fold: np.ndarray) -> np.ndarray:
        """(N, 1) OOF grades, fold k graded by cut-points fitted on the other folds."""
        if len(np.unique(fold)) < 2:
            return pred
        g = np.asarray(y).reshape(len(y), -1)[:, 0].astype(np.int64)
        x = np.asarray(pred, np.float64).reshape(len(pred), -1)[:, 0]
        return fit_cutpoints_cv(g, x, fold, self.grades).oof_grades[:, None].astype(np.float64)

    def decide(self, pred: np.ndarray, final: dict[str, Any], source: str) -> np.ndarray:
        """Test values graded with the cut-points fitted on every OOF row (N, 1)."""
        cuts = (final.get("cutpoints") or {}).get("cuts")
        if cuts is None or len(cuts) != len(self.grades) - 1:
            raise ArtifactError(
                f"{source}: no cut-points for the grades {self.grades.tolist()} in 'final'; "
                "re-run the stage that wrote it (oof, tabular or ensemble) with --force"
            )
        x = np.asarray(pred, np.float64)[:, 0]
        return apply_cutpoints(x, np.asarray(cuts), self.grades)[:, None].astype(np.float64)

    def report_lines(self, block: dict[str, Any]) -> list[str]:
        if "cutpoints" not in block:
            return []
        c, s = block["cutpoints"], block["secondary"]
        cuts = ", ".join(f"{v:.3f}" for v in c["cuts"])
        return [
            f"  cut-points (every OOF row) [{cuts}]: qwk {c['fit_qwk']:.4f} in-sample; "
            f"CV (cut-points without the fold) {c['cv_qwk']:.4f}; rounded {c['rounded_qwk']:.4f}",
            f"  rmse {s['rmse']:.4f}  accuracy {s['accuracy']:.4f} "
            f"(rounded {s['rounded_accuracy']:.4f})",
        ]

    # ---- submissions -----------------------------------------------------------------------
    def submission_values(self, pred: np.ndarray, columns: list[str]) -> dict[str, np.ndarray]:
        """Integer grades (the values `decide` graded; rounded if given values)."""
        return {c: self.rounded(pred) for c in self._target_of(columns)}

    def check_submission_column(self, values: pd.Series, column: str, source: str) -> None:
        super().check_submission_column(values, column, source)
        num = pd.to_numeric(values, errors="coerce").to_numpy(np.float64)
        bad = ~np.isin(num, self.grades.astype(np.float64))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataError(
                f"{source}: line {i + 2}, column {column!r} = {values.iloc[i]!r} is not one of "
                f"the grades {self.grades.tolist()}"
            )
