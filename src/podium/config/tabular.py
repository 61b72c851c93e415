"""The `tabular:` section of a member config, validated with the config. Its estimator and
params are checked against scikit-learn and the task in `podium.validate`
(`podium.tabular.checks`), which imports those libraries only when a config has the section.

tabular:
  model: svc            # svc, logistic, knn, extra_trees, random_forest, xgboost;
                        # ridge, svr for the value tasks (regression, ordinal)
  params: {C: 10, gamma: 0.25}   # keyword arguments of that estimator
  image_size: 8         # pixels come from the uint8 decode cache at this size (h = w)
  grayscale: true       # mean over RGB (one value per pixel)
  standardize: false    # a StandardScaler in front of the model
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from podium.config.section import StageSection


class TabularConfig(StageSection):
    model: Literal[
        "svc", "logistic", "knn", "extra_trees", "random_forest", "xgboost", "ridge", "svr"
    ]
    params: dict[str, Any] = Field(default_factory=dict)
    image_size: int = Field(8, ge=1)
    grayscale: bool = True
    standardize: bool = False
