"""`data.slices`: studies given as series of 2-D slices (podium.series), read as one image
whose channels are its slices, and the 2.5D network's view of them.

    data:
      slices:
        depth: 32      # every series resampled to this many slices (the cache's channels)
        context: 1     # k: each slice goes to the encoder with k neighbours on each side
        sample: 8      # training: this many random slice positions per study (None: all)
        stride: 1      # prediction: every stride-th slice position
        spacing: 1.0   # optional: slices resampled first to 1 mm apart along the normal
                       # (linear between neighbours, by ImagePositionPatient), then to depth
        series: all    # the image path is a study folder of series sub-folders (below)

`series` (None: the image path is one series): `all` reads every series sub-folder of a
study folder (`train_images/{patient_id}` holding `<series_id>/*.dcm`), `first` the first by
name, n the first n; each series is one training sample of the study's label and a study's
prediction is the mean over its series (podium.series.studies).

The encoder takes 2k+1 channels (times the number of `data.windows`); `model.sequence_head`
pools the per-slice features. Without `spacing` the depth resampling is by slice index, so a
1 mm and a 5 mm series of one extent fill `depth` alike; with it, each series is first brought
to one physical slice spacing (podium.series.resample).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from podium.config.section import Section

SequenceHead = Literal["mean", "max", "attention", "gru"]


class SlicesConfig(Section):
    depth: int = Field(32, ge=1, le=1024)
    context: int = Field(1, ge=0)
    sample: int | None = Field(None, ge=1)
    stride: int = Field(1, ge=1)
    spacing: float | None = Field(None, gt=0)
    series: Literal["all", "first"] | Annotated[int, Field(ge=1)] | None = None

    @model_validator(mode="after")
    def _fits_depth(self) -> SlicesConfig:
        if self.sample is not None and self.sample > self.depth:
            raise ValueError(f"sample ({self.sample}) cannot exceed depth ({self.depth})")
        if self.stride > self.depth:
            raise ValueError(f"stride ({self.stride}) cannot exceed depth ({self.depth})")
        return self

    @property
    def window(self) -> int:
        """Channels of the encoder's input: the slice and k neighbours on each side."""
        return 2 * self.context + 1
