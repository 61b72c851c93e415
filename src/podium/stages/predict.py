"""`podium predict --bundle DIR --data DIR [--out FILE]`: the test predictions and the
validated submission from an exported bundle alone (no runs/, no train.csv, no folds, no
config): what a Kaggle code competition's notebook runs. See `podium.bundle.predict`."""

from __future__ import annotations

from pathlib import Path

from podium.bundle.predict import predict


def run(bundle: Path, data: Path, out: Path | None = None) -> Path:
    path = predict(Path(bundle), Path(data), Path(out or "submission.csv"))
    print(f"submission: {path}")
    return path
