"""The OOF scores of a segmentation experiment, what scores.json holds: the honest CV of the
post-processing (threshold, minimum area) fitted on the OOF maps at the model's size, the
in-sample and threshold-0.5 values beside it, and, where the train images are not all at
`data.image_size` (images of several sizes, or one other size), the same honest CV scored at
each image's own size (`cv_at_image_size`): each OOF map resized to its image's size and
decided with its fold's parameters, the minimum area scaled with the image, exactly as the
submission decides a test map (`submission.decide_at_size`). The mask ensemble scores its
chosen candidate's maps with the same `cv_at_image_size`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from podium.metrics.scores import DecisionSummary
from podium.metrics.segmentation import mean_dice
from podium.segmentation.masks import is_ragged
from podium.submission import decide_at_size
from podium.tasks.base import Task


def oof_scores(
    task: Task, y_native: np.ndarray, y: np.ndarray, prob: np.ndarray, fold_of_row: np.ndarray
) -> tuple[dict[str, Any], list[str]]:
    """scores.json's figures of OOF maps `prob` against the masks `y` at the model's size
    (`y_native`: the train masks at the images' own sizes, dense or ragged), and the
    decision's report lines."""
    decision = task.decision
    assert decision is not None  # the segmentation task's post-processing
    summary = decision.fit_cv(y, prob, fold_of_row).summary
    scores: dict[str, Any] = {
        "cv": summary.cv_score,
        "metric": task.metric.name,
        "greater_is_better": True,
        "in_sample": summary.fit_score,
        "at_threshold_0.5": mean_dice(y, prob >= 0.5),
    }
    native = cv_at_image_size(task, y_native, prob, fold_of_row, summary)
    if native is not None:
        scores["cv_at_image_size"] = native
    scores |= {
        "folds": {str(k): v for k, v in summary.fold_scores.items()},
        "final": {"decision": summary.to_json()},
    }
    return scores, list(decision.report(summary))


def cv_at_image_size(
    task: Task,
    y_native: np.ndarray,
    prob: np.ndarray,
    fold_of_row: np.ndarray,
    summary: DecisionSummary,
) -> float | None:
    """The honest CV of OOF maps `prob` scored at each image's own size: each map resized to
    its mask's size in `y_native` (dense or ragged) and decided with its fold's parameters in
    `summary` (fitted on the other folds), as the submission decides a test map; None where
    the masks are all at the maps' size (the CV is then that)."""
    decision = task.decision
    assert decision is not None  # the segmentation task's post-processing
    native = is_ragged(y_native) or np.asarray(y_native).shape[2:] != prob.shape[2:]
    if not native or not len(prob):
        return None
    decided = np.empty(len(prob), dtype=object)
    truth = np.empty(len(prob), dtype=object)
    for i, (mask, k) in enumerate(zip(y_native, fold_of_row, strict=True)):
        params = np.asarray(summary.fold_params[int(k)])
        decided[i] = decide_at_size(decision, prob[i], mask.shape[1:], params)
        truth[i] = np.asarray(mask, bool)
    return float(task.metric(truth, decided))
