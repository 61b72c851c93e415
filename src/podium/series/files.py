"""The files of one series: a study's image path may be a folder of slices (one DICOM file
each); the decode cache's name, the data fingerprint and the reader all list it the same
way, here, so that a slice added, removed or rewritten is a new cache, not stale pixels."""

from __future__ import annotations

from pathlib import Path


def series_files(folder: Path) -> list[Path]:
    """The folder's files, by name (hidden files such as `.DS_Store` left out); the reader
    orders them by position, not by this list."""
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


def files_of_image(path: Path) -> list[Path]:
    """An image path's files: a folder's slices, else the path itself."""
    return series_files(path) if path.is_dir() else [path]
