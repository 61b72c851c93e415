"""`competition.rle_rows`: where a segmentation's masks are run-length rows, one per
(image, class), as Severstal's and Understanding Clouds' tables are. The keys name the
columns; `podium.segmentation.long_rows` reads and writes tables of this layout.

    rle_rows:                         # Severstal's train.csv
      image: ImageId                  #   the image's id
      class: ClassId                  #   the class value (one of competition.classes)
      rle: EncodedPixels              #   the run-length cell (blank: an empty mask)
      unlisted: empty                 # train images without a row: empty masks (or skip)
      submission:                     # sample_submission's layout, if it differs
        image_label: ImageId_ClassId  #   one column "<image><separator><class>"
        separator: "_"
"""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, model_validator

from podium.config.section import Section


class RowLayout(Section):
    """The columns of a long run-length table: `image` and `class`, or one combined
    `image_label` column whose values end in `<separator><class>`; `rle` holds the runs."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, populate_by_name=True)

    image: str | None = None
    class_column: str | None = Field(None, alias="class")
    image_label: str | None = None
    separator: str = "_"
    rle: str = "EncodedPixels"

    @model_validator(mode="after")
    def _one_layout(self) -> RowLayout:
        split = self.image is not None or self.class_column is not None
        if split and self.image_label is not None:
            raise ValueError("name either image and class, or image_label, not both")
        if not split and self.image_label is None:
            raise ValueError("name the columns: image and class, or image_label (with separator)")
        if split and (self.image is None or self.class_column is None):
            missing = "class" if self.class_column is None else "image"
            raise ValueError(f"{missing} is missing (image and class name one column each)")
        if self.image_label is not None and not self.separator:
            raise ValueError("separator must not be empty")
        return self


class RleRows(RowLayout):
    """The train table's layout (and the solution's and submission's, unless `submission`
    names another); `unlisted`: what a train image without any row is (Severstal lists only
    defective images): `empty` masks, or `skip` (not trained on)."""

    unlisted: Literal["empty", "skip"] = "empty"
    submission: RowLayout | None = None

    @property
    def submission_layout(self) -> RowLayout:
        return self.submission or RowLayout(
            image=self.image,
            class_column=self.class_column,
            image_label=self.image_label,
            separator=self.separator,
            rle=self.rle,
        )
