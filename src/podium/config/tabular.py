"""The `tabular:` section of a member config, validated with the config. Its estimator and
params are checked against scikit-learn and the task in `podium.validate`
(`podium.tabular.checks`), which imports those libraries only when a config has the section.

tabular:
  model: svc            # svc, logistic, knn, extra_trees, random_forest, xgboost;
                        # ridge, svr for the value tasks (regression, ordinal)
  params: {C: 10, gamma: 0.25}   # keyword arguments of that estimator
  image_size: 8         # pixels come from the uint8 decode cache at this size (h = w)
  grayscale: false      # false: every channel of data.channels (h x w x C values); true: their
                        # mean (h x w values), which loses a signal held between channels
  standardize: false    # a StandardScaler in front of the model
  features: pixels      # or hog: histograms of oriented gradients of those pixels
  hog: {orientations: 9, cells: [4, 8, 16], block: 2, norm: L2}
                        # with features: hog; one HOG per cell size (pixels), concatenated;
                        # each cell size times `block` must fit in image_size
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from podium.config.section import StageSection, SubSection


class HogConfig(SubSection):
    """scikit-image `hog`'s settings (`tabular.hog`), for `tabular.features: hog`."""

    orientations: int = Field(9, ge=2)
    cells: list[Annotated[int, Field(ge=1)]] = Field(
        default_factory=lambda: [4, 8, 16], min_length=1
    )
    block: int = Field(2, ge=1)  # cells per block side
    norm: Literal["L1", "L1-sqrt", "L2", "L2-Hys"] = "L2"


class TabularConfig(StageSection):
    model: Literal[
        "svc", "logistic", "knn", "extra_trees", "random_forest", "xgboost", "ridge", "svr"
    ]
    params: dict[str, Any] = Field(default_factory=dict)
    image_size: int = Field(8, ge=1)
    grayscale: bool = False  # the competition's channels (true: their mean, one per pixel)
    standardize: bool = False
    features: Literal["pixels", "hog"] = "pixels"
    hog: HogConfig = Field(default_factory=HogConfig)

    @model_validator(mode="after")
    def _hog_fits(self) -> TabularConfig:
        too_big = [c for c in self.hog.cells if c * self.hog.block > self.image_size]
        if self.features == "hog" and too_big:
            raise ValueError(
                f"hog.cells {too_big} x hog.block {self.hog.block} pixels do not fit in "
                f"image_size {self.image_size}"
            )
        return self
