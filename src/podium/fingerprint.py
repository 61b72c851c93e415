"""The one freshness rule. Every artifact records the fingerprint of exactly what it was made
from (the config values it read, the data it read, the fingerprints of the artifacts it read);
a stage skips its work iff the recorded fingerprint matches today's, and `--force` redoes it.

    stamp = Stamp(run_dir / "oof.json", {"units": ..., "settings": ..., "labels": ...})
    if stamp.fresh(outputs): skip
    stamp.invalidate()                         # first: no record over half-new outputs
    ... write the outputs (each atomically) ...
    stamp.write(extra_fields)                  # last: marks the outputs complete

A run killed anywhere in between leaves no record, so the next run redoes the stage rather
than trusting a mix of new outputs and an old record (which a run made from other inputs, then
reverted, would otherwise find "up to date").

A fingerprint is built from named parts so that a stale artifact can say *what* changed
("labels changed") rather than only that something did. Config parts hash only the values
that differ from their defaults (`config_part`), so adding a field with a default to the
schema leaves every finished artifact fresh.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from podium.artifacts import read_json, remove, write_json
from podium.digests import file_digests

DIGEST_CHARS = 16


def fingerprint(obj: Any) -> str:
    """A short, stable hash of plain data (dicts, lists, strings, numbers): the one hashing
    path of podium; dict order does not matter, floats hash by their JSON form."""
    text = json.dumps(obj, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:DIGEST_CHARS]


def config_part(section: BaseModel | None, exclude: set[str] | None = None) -> dict[str, Any]:
    """The values of a config section that differ from their defaults (nested): what a
    fingerprint should hash, so that a new field with a default changes nothing."""
    if section is None:
        return {}
    return section.model_dump(mode="json", exclude_defaults=True, exclude=exclude)


def changed_keys(old: Any, new: Any, prefix: str = "") -> list[str]:
    """The dotted keys whose values differ between two plain configs (`competition.metric.
    sha256`), for a refusal that says what changed rather than only that something did."""
    if isinstance(old, dict) and isinstance(new, dict):
        keys = sorted({*old, *new}, key=str)
        return [c for k in keys for c in changed_keys(old.get(k), new.get(k), f"{prefix}{k}.")]
    return [] if old == new else [prefix.rstrip(".")]


def values_fingerprint(*columns: Iterable[Any]) -> str:
    """Fingerprint of table columns (ids, labels, groups), row order included."""
    h = hashlib.sha256()
    for column in columns:
        for value in column:
            h.update(str(value).encode())
            h.update(b"\x1f")
        h.update(b"\x1e")
    return h.hexdigest()[:DIGEST_CHARS]


def files_fingerprint(
    paths: Iterable[Path], store: Path | None = None, root: Path | None = None
) -> str:
    """Fingerprint of files by path and content (`podium.digests`: each file hashed once,
    then remembered by its stat key in `store`), as the decode cache keys on: an image
    rewritten in place changes it even with its size and mtime restored. With `root`, a
    file under it counts by its path relative to it, so a competition folder moved or
    mounted elsewhere (a Kaggle notebook's /kaggle/input) keeps its fingerprint and finished
    units are not retrained. A missing file is a FileNotFoundError naming it."""
    files = [Path(p) for p in paths]
    h = hashlib.sha256()
    for p, digest in zip(files, file_digests(files, store), strict=True):
        if digest is None:
            raise FileNotFoundError(f"no such file: {p}")
        name = p.relative_to(root) if root is not None and p.is_relative_to(root) else p
        h.update(f"{name}|{digest}\n".encode())
    return h.hexdigest()[:DIGEST_CHARS]


class Stamp:
    """The record beside a stage's outputs: the fingerprint of its inputs, by part."""

    def __init__(self, path: Path, parts: dict[str, Any]) -> None:
        self.path = Path(path)
        self.parts = {k: fingerprint(v) if not isinstance(v, str) else v for k, v in parts.items()}
        self.fingerprint = fingerprint(self.parts)

    def recorded(self) -> dict[str, Any] | None:
        if not self.path.is_file():
            return None
        try:
            record: dict[str, Any] = read_json(self.path)
            return record
        except (ValueError, OSError):  # a torn or hand-edited record: treat as stale
            return None

    def fresh(self, outputs: Iterable[Path] = ()) -> bool:
        """The record matches today's inputs and every output exists."""
        rec = self.recorded()
        if rec is None or rec.get("fingerprint") != self.fingerprint:
            return False
        return all(Path(p).exists() for p in outputs)

    def changed(self) -> list[str]:
        """The parts whose fingerprint differs from the record's (all of them if none)."""
        rec = self.recorded()
        old = (rec or {}).get("parts") or {}
        return [k for k, v in self.parts.items() if old.get(k) != v] or (
            [] if rec and rec.get("fingerprint") == self.fingerprint else list(self.parts)
        )

    def invalidate(self) -> None:
        """Remove the record before the outputs are rewritten (see the module's docstring)."""
        remove(self.path)

    def write(self, **extra: Any) -> None:
        """Record the fingerprint (call last, after the outputs are written)."""
        write_json(self.path, {"fingerprint": self.fingerprint, "parts": self.parts, **extra})
