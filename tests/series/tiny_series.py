"""The settings that shrink a series demo to a tiny end-to-end run (timm's test_resnet, 2 folds,
16 px, 8 slices sampled 4 at a time, 1 epoch), shared by the series tests that run the CLI."""

from __future__ import annotations

from pathlib import Path

TINY_SERIES = [
    "model.name=test_resnet",
    "folds.n_splits=2",
    "data.image_size=16",
    "data.slices.depth=8",
    "data.slices.sample=4",
    "train.epochs=1",
    "train.batch_size=4",
    "train.progress=false",
    "infer.batch_size=4",
]


def tiny_overrides(tmp: Path) -> list[str]:
    """The tiny settings, with data, runs and submissions under `tmp`."""
    return [
        f"paths.data={tmp / 'data'}",
        f"paths.runs={tmp / 'runs'}",
        f"paths.submissions={tmp / 'subs'}",
        *TINY_SERIES,
    ]
