"""The bundle's manifest.json: what is in it (members, checkpoints, the combination), which
podium made it, and the sha256 of every file, checked before anything is loaded: a missing or
changed file, or a bundle from a newer podium, is refused with a message that names it.

    bundle/manifest.json
    bundle/targets.csv                      the train targets (no ids, no images): the task's schema
    bundle/decisions.json                   thresholds / cut-points fitted on every OOF row
    bundle/runs/<comp>/<member>/fold{k}/seed{s}/<weights>.pt   the weights inference uses
    bundle/runs/<comp>/<member>/fold{k}/model_seed{s}.*        a tabular member's models
    bundle/ensemble/meta/fold{k}_seed{s}.ubj, prior.json       the stack's meta-models
    bundle/wheels/podium-*.whl (+ dependency wheels with --wheels)
    bundle/dataset-metadata.json, bundle/kernel/   for the Kaggle CLI
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from podium import __version__
from podium.artifacts import read_json, write_json
from podium.errors import ArtifactError

MANIFEST = "manifest.json"
FORMAT = 1  # the manifest's own layout; a newer one is refused like a newer podium


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def version_key(version: str) -> tuple[int, ...]:
    """'0.10.2' -> (0, 10, 2), '1.0' -> (1, 0, 0); pre-release and local tags are ignored (a
    dev build of a release counts as that release)."""
    parts = [int(p) for p in re.findall(r"\d+", version.split("+")[0])[:3]]
    return tuple(parts + [0] * (3 - len(parts)))


def write_manifest(bundle: Path, content: dict[str, Any]) -> dict[str, Any]:
    """Hash every file under `bundle` (but the manifest) into `content["files"]` and write it."""
    files = sorted(
        p for p in bundle.rglob("*") if p.is_file() and p.relative_to(bundle).as_posix() != MANIFEST
    )
    manifest = {
        "format": FORMAT,
        "podium_version": __version__,
        **content,
        "files": {p.relative_to(bundle).as_posix(): sha256(p) for p in files},
    }
    write_json(bundle / MANIFEST, manifest)
    return manifest


def read_manifest(bundle: Path, verify: bool = True) -> dict[str, Any]:
    """The manifest of `bundle`, refused when made by a newer podium; with `verify`, every
    file it lists must be present with the recorded hash."""
    path = Path(bundle) / MANIFEST
    if not path.is_file():
        raise ArtifactError(f"{path} not found: {bundle} is not a podium bundle (podium export)")
    try:
        manifest = read_json(path)
    except ValueError as e:
        raise ArtifactError(f"{path}: not readable JSON ({e})") from None
    made_by = str(manifest.get("podium_version", "?"))
    install = (
        f"install the bundle's own wheel: pip install --no-index --no-deps "
        f"{Path(bundle) / 'wheels'}/podium-*.whl"
    )
    if version_key(made_by) > version_key(__version__):
        raise ArtifactError(
            f"{path}: this bundle was made by podium {made_by}, newer than this podium "
            f"{__version__}; {install}"
        )
    if manifest.get("format", 0) > FORMAT:
        raise ArtifactError(
            f"{path}: manifest format {manifest.get('format')} is newer than this podium "
            f"{__version__} reads (format {FORMAT}; the bundle says podium {made_by}); {install}"
        )
    if verify:
        verify_files(Path(bundle), manifest)
    return manifest


def verify_files(bundle: Path, manifest: dict[str, Any]) -> None:
    root = bundle.resolve()
    for rel, digest in manifest.get("files", {}).items():
        file = (bundle / rel).resolve()
        if root not in file.parents:
            raise ArtifactError(f"{bundle / MANIFEST}: file {rel!r} lies outside the bundle")
        if not file.is_file():
            raise ArtifactError(
                f"{bundle / rel}: missing from the bundle (manifest.json lists it); copy the "
                "whole bundle again or re-export it (podium export)"
            )
        if sha256(file) != digest:
            raise ArtifactError(
                f"{bundle / rel}: sha256 differs from manifest.json (changed or corrupt since "
                "the export); copy the whole bundle again or re-export it (podium export)"
            )


def bundle_size(bundle: Path) -> int:
    return sum(p.stat().st_size for p in Path(bundle).rglob("*") if p.is_file())
