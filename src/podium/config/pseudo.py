"""The `pseudo:` section of a student config, validated with the config (unknown keys name
the closest valid one), so the pseudo stage trusts it.

    pseudo:
      teacher: resnet10t.yaml     # an experiment or ensemble config, relative to this file
      all_folds: false            # true: every fold uses the all-folds teacher (leaks; warned)
      use_test: true              # pseudo-label the competition's test images
      extra_images: null          # a folder of unlabelled images (relative to data/<comp>/)
      threshold: 0.9              # keep rows whose top teacher probability is >= this
      top_fraction: null          # keep the most confident share of each predicted class
      max_per_class: null         # at most this many rows per class
      balance: false              # cap every class at the smallest class's count
      soft: false                 # train on the teacher's probabilities, not its argmax
      weight: 1.0                 # loss weight of a pseudo row (labelled rows weigh 1)
      confidence_weighting: false # multiply the weight by the teacher's top probability

The section is part of the student's training hash: changing it changes what the student
trains on, so a run made under other settings is refused (see `Experiment.prepare`).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator

from podium.config.section import StageSection


class PseudoConfig(StageSection):
    teacher: str
    all_folds: bool = False
    use_test: bool = True
    extra_images: str | None = None
    threshold: float | None = Field(0.9, ge=0, le=1)
    top_fraction: float | None = Field(None, gt=0, le=1)
    max_per_class: int | None = Field(None, ge=1)
    balance: bool = False
    soft: bool = False
    weight: float = Field(1.0, gt=0)
    confidence_weighting: bool = False

    @model_validator(mode="after")
    def _some_pool(self) -> PseudoConfig:
        if not self.use_test and self.extra_images is None:
            raise ValueError("use_test is false and no extra_images: there is nothing to label")
        return self

    def teacher_path(self, source: str | None) -> Path:
        """The teacher's config file, relative to the student's own file."""
        base = Path(source).parent if source else Path(".")
        return base / self.teacher

    def extra_dir(self, data_dir: Path) -> Path | None:
        """The extra unlabelled folder, relative to the competition's data folder."""
        if self.extra_images is None:
            return None
        return data_dir / self.extra_images

    @classmethod
    def suggestion(cls, name: str, key: str) -> str:
        return f"'{name}.{key}'"
