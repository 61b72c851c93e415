"""ISIC 2024 (skin cancer detection with 3D-TBP): partial AUC above 80% TPR, in Kaggle's form.

The score is the area under the ROC curve in the region where the true positive rate is at
least `min_tpr`: a model is only credited for how few negatives it flags while it still finds
80% of the melanomas. Its range is [0, 1 - min_tpr] = [0, 0.2]: 0.2 for a perfect ranking,
about 0.02 for a random one ((1 - min_tpr)^2 / 2).

Computed as Kaggle's published metric does: sklearn's `roc_auc_score(max_fpr=...)` standardises
(McClish) the area left of an FPR line, so the labels are flipped (negatives become
positives) and the scores negated, which turns "TPR >= min_tpr" into "FPR <= 1 - min_tpr";
the McClish standardisation is then undone to get the raw area.

Use it in a podium config:

    competition:
      task: binary
      submission_format: proba
      metric:
        function: examples/metrics/isic_pauc.py:score   # relative to the config file
        direction: maximize
        needs: probabilities
        name: pauc80
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score


def score(
    solution: pd.DataFrame,
    submission: pd.DataFrame,
    row_id_column_name: str,
    min_tpr: float = 0.80,
) -> float:
    """The partial AUC of `submission`'s probabilities against `solution`'s 0/1 labels, over
    the ROC region with TPR >= `min_tpr` (the rows are matched on `row_id_column_name`)."""
    solution = solution.set_index(row_id_column_name)
    submission = submission.set_index(row_id_column_name).loc[solution.index]
    if solution.shape[1] != 1 or submission.shape[1] != 1:
        raise ValueError(
            f"expected one target column, got solution {list(solution.columns)} and "
            f"submission {list(submission.columns)}"
        )
    y = pd.to_numeric(solution.iloc[:, 0]).to_numpy()
    if not np.isin(y, (0, 1)).all():
        raise ValueError(f"solution labels must be 0/1, got {sorted(set(y.tolist()))[:5]}")
    p = pd.to_numeric(submission.iloc[:, 0]).to_numpy(dtype=np.float64)
    max_fpr = abs(1 - min_tpr)
    # flipped: negatives are the positives, low scores the high ones
    scaled = roc_auc_score(1 - y, -p, max_fpr=max_fpr)
    # undo McClish's standardisation: [0.5, 1] back to [max_fpr^2 / 2, max_fpr]
    return float(0.5 * max_fpr**2 + (max_fpr - 0.5 * max_fpr**2) / (1.0 - 0.5) * (scaled - 0.5))
