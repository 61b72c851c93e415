"""Where `podium predict` reads and writes: the user's data folder, seen as a competition's
folder, and the files the user names, refused where podium's artifacts or the user's inputs
live.

Neither `--out` nor `--predictions` may lie inside a podium runs folder, a competition's data
folder or the bundle (`./runs`, `./data`, `--data`, `--bundle`, or a folder holding run.json,
folds.csv or sample_submission.csv): predictions on other data written there would pass for
an experiment's own (a later `podium submit` would submit them under its CV), or replace the
user's input.
"""

from __future__ import annotations

from pathlib import Path

from podium.errors import ConfigError, DataError

# files whose folder is podium's (a run or the runs of a competition) or a competition's data
MARKERS = ("run.json", "folds.csv", "sample_submission.csv")


def check_output(path: Path, option: str, data: Path, bundle: Path) -> None:
    """Refuse to write `path` (the value of `option`) where podium's artifacts or the user's
    inputs live; symlinks are resolved first."""
    target = path.resolve()
    protected = {
        "the runs folder": Path("runs").resolve(),
        "the data folder": Path("data").resolve(),
        "the competition folder (--data)": data.resolve(),
        "the bundle (--bundle)": bundle.resolve(),
    }
    for what, folder in protected.items():
        if target == folder or folder in target.parents:
            raise ConfigError(
                f"{option} {path}: lies inside {what} {folder}, whose files podium or you made; "
                "write predictions elsewhere (e.g. --out submission.csv)"
            )
    for folder in target.parents:
        marker = next((m for m in MARKERS if (folder / m).is_file()), None)
        if marker is not None:
            raise ConfigError(
                f"{option} {path}: lies inside {folder}, a podium run or competition folder "
                f"(it holds {marker}); write predictions elsewhere (e.g. --out submission.csv)"
            )


def data_root(data: Path, competition: str, tmp: Path) -> Path:
    """A folder whose `<competition>/` is `data` (linked when the names differ)."""
    if not data.is_dir():
        raise DataError(
            f"--data {data}: not a folder (the competition's test images and sample_submission.csv)"
        )
    if data.resolve().name == competition:
        return data.resolve().parent
    (tmp / competition).symlink_to(data.resolve(), target_is_directory=True)
    return tmp
