"""The bundle's manifest.json: what is in it (members, checkpoints, the combination), which
podium made it, and the sha256 of every file, checked before anything is loaded: a missing or
changed file, or a bundle from a newer podium, is refused with a message that names it.

The manifest is sealed too: `manifest_sha256` is the sha256 of its own content (canonical
JSON, every other key), so an edited class order or TTA list is refused like an edited
checkpoint. Since the content holds every file's hash, the seal covers the whole bundle.
It is a checksum, not a signature: it catches edits and corruption, not a forger who
recomputes it (that would need a key a Kaggle notebook cannot keep secret).

    bundle/manifest.json
    bundle/targets.csv                      the train targets (no ids, no images): the task's schema
    bundle/decisions.json                   thresholds / cut-points fitted on every OOF row
    bundle/metrics/<file>.py                a plug-in metric's file (`metric_files`: its sha256)
    bundle/runs/<comp>/<member>/fold{k}/seed{s}/<weights>.pt   the weights inference uses
    bundle/runs/<comp>/<member>/fold{k}/model_seed{s}.*        a tabular member's models
    bundle/ensemble/meta/fold{k}_seed{s}.ubj, prior.json       the stack's meta-models
    bundle/wheels/podium-*.whl (+ dependency wheels with --wheels)
    bundle/dataset-metadata.json, bundle/kernel/   for the Kaggle CLI
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from podium import __version__
from podium.artifacts import read_json, write_json
from podium.errors import ArtifactError

MANIFEST = "manifest.json"
FORMAT = 2  # the manifest's own layout; a newer one is refused like a newer podium
SEALED_FROM = 2  # format 2 added `manifest_sha256`
SEAL = "manifest_sha256"
# PEP 440's public versions (1.2, 0.1.0rc1, 2.0.post1.dev3) with an optional local tag
VERSION = re.compile(r"\d+(\.\d+)*((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?(\+[a-z0-9.]+)?", re.I)


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


def content_digest(manifest: dict[str, Any]) -> str:
    """sha256 of the manifest's content as JSON reads it back (sorted keys, no spaces),
    every key but the seal itself."""
    content = {k: v for k, v in manifest.items() if k != SEAL}
    plain = json.loads(json.dumps(content, default=float))  # numpy numbers as JSON has them
    return hashlib.sha256(
        json.dumps(plain, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()


def seal(manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest with its `manifest_sha256` (re)computed."""
    return {**{k: v for k, v in manifest.items() if k != SEAL}, SEAL: content_digest(manifest)}


def write_manifest(bundle: Path, content: dict[str, Any]) -> dict[str, Any]:
    """Hash every file under `bundle` (but the manifest) into `content["files"]`, seal the
    whole and write it."""
    files = sorted(
        p for p in bundle.rglob("*") if p.is_file() and p.relative_to(bundle).as_posix() != MANIFEST
    )
    manifest = seal(
        {
            "format": FORMAT,
            "podium_version": __version__,
            **content,
            "files": {p.relative_to(bundle).as_posix(): sha256(p) for p in files},
        }
    )
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
    if not isinstance(manifest, dict):
        raise ArtifactError(f"{path}: not a podium manifest (a JSON object is expected)")
    made_by = manifest.get("podium_version")
    if not isinstance(made_by, str) or not VERSION.fullmatch(made_by):
        raise ArtifactError(
            f"{path}: podium_version {made_by!r} is not a version number: not a manifest "
            "podium export wrote (or an edited one); re-export the bundle (podium export)"
        )
    fmt = manifest.get("format", 0)
    if not isinstance(fmt, int):
        raise ArtifactError(f"{path}: format {fmt!r} is not a number; re-export the bundle")
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
    if fmt < SEALED_FROM:
        raise ArtifactError(
            f"{path}: made by podium {made_by} before manifests were sealed (format {fmt}), so "
            "an edit to it cannot be told apart from the export; re-export the bundle (podium "
            "export)"
        )
    if manifest.get(SEAL) != content_digest(manifest):
        raise ArtifactError(
            f"{path}: its content does not match its own {SEAL} (edited or corrupt since the "
            "export: a class order, TTA list or any other field may be wrong); copy the whole "
            "bundle again or re-export it (podium export)"
        )
    if verify:
        verify_files(Path(bundle), manifest)
    return manifest


def check_replaceable(out: Path) -> None:
    """`podium export --out` replaces a folder only when it is a podium bundle whose files
    are exactly the ones its manifest lists, unchanged (nothing of the user's is lost);
    anything else is refused, naming why."""
    if not out.exists() and not out.is_symlink():
        return
    if not out.is_dir():
        raise ArtifactError(
            f"--out {out}: is a file, not a folder; export writes a bundle folder: name a new "
            "or empty folder, or an earlier bundle to replace"
        )
    if not any(out.iterdir()):
        return
    try:
        manifest = read_manifest(out, verify=True)
    except ArtifactError as e:
        raise ArtifactError(
            f"--out {out}: holds other files than a podium bundle ({e}); it is not replaced: "
            "choose another folder, or remove it yourself"
        ) from None
    listed = {*manifest.get("files", {}), MANIFEST}
    extra = sorted(
        p.relative_to(out).as_posix()
        for p in out.rglob("*")
        if not p.is_dir() and p.relative_to(out).as_posix() not in listed
    )
    if extra:
        shown = ", ".join(extra[:3]) + (f" and {len(extra) - 3} more" if len(extra) > 3 else "")
        raise ArtifactError(
            f"--out {out}: a podium bundle, but it also holds files its manifest does not list "
            f"({shown}); it is not replaced: choose another folder, or move them out"
        )


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
