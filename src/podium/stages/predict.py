"""`podium predict --bundle DIR --data DIR [--out FILE] [--predictions FILE]`: the validated
submission (and, when asked, the test predictions) from an exported bundle alone (no runs/, no
train.csv, no folds, no config): what a Kaggle code competition's notebook runs. Nothing is
written but the files named. See `podium.bundle.predict`."""

from __future__ import annotations

from pathlib import Path

from podium.bundle.predict import predict


def run(bundle: Path, data: Path, out: Path | None = None, predictions: Path | None = None) -> Path:
    path = predict(Path(bundle), Path(data), Path(out or "submission.csv"), predictions)
    print(f"submission: {path}" + (f"  (test predictions: {predictions})" if predictions else ""))
    return path
