"""A plug-in metric's file in the bundle. The bundle's configs name the metric they were
scored with (`competition.metric: {function: file.py:name, sha256: ...}`); building the task
loads it, so `podium predict` needs the file on a machine that has only the bundle.

`podium export` copies each file a config's metric names into `bundle/metrics/` (its hash in
the manifest's `metric_files` and `files`) and points the stored configs at the copy,
relative to the bundle; `podium predict` reads them from the bundle and refuses a copy whose
hash is not the one the runs were scored with. A metric named by a module
(`package.module:name`) is not copied: it must be importable where predict runs.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from podium.bundle.manifest import MANIFEST, sha256
from podium.config import Config
from podium.config.metric import MetricSpec
from podium.errors import ArtifactError, ConfigError

METRICS = "metrics"


def export_metrics(bundle: Path, configs: list[tuple[Config, dict[str, Any]]]) -> list[dict]:
    """Copy the metric file of each (config, its stored dict) into `bundle/metrics/` and
    point the dict at the copy; returns the manifest's `metric_files` entries."""
    copied: dict[str, dict[str, Any]] = {}  # bundle-relative file -> its entry
    for cfg, stored in configs:
        spec = cfg.competition.metric
        if not isinstance(spec, MetricSpec) or not spec.function.rpartition(":")[0].endswith(".py"):
            continue
        path = spec.file()
        if path is None or not path.is_file():
            raise ConfigError(f"{cfg.source}: competition.metric.function: {path} not found")
        digest = sha256(path)
        if digest != spec.sha256:
            raise ArtifactError(
                f"{path}: changed since {cfg.source} was read (sha256 differs); export again"
            )
        rel = f"{METRICS}/{path.name}"
        if rel in copied and copied[rel]["sha256"] != digest:  # two files of one name
            rel = f"{METRICS}/{path.stem}-{digest[:8]}{path.suffix}"
        if rel not in copied:
            (bundle / METRICS).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, bundle / rel)
            copied[rel] = {"file": rel, "sha256": digest, "function": spec.function}
        name = spec.function.rpartition(":")[2]
        stored["competition"]["metric"].update(function=f"{rel}:{name}", sha256=digest)
    return list(copied.values())


def bundle_metric(d: dict[str, Any], bundle: Path) -> None:
    """Refuse a stored config whose metric file is not the bundle's copy with the recorded
    hash (the config is then read with the bundle as its folder: `bundle_config`)."""
    spec = d.get("competition", {}).get("metric")
    if not isinstance(spec, dict) or not str(spec.get("function", "")).rpartition(":")[0].endswith(
        ".py"
    ):
        return
    where = spec["function"].rpartition(":")[0]
    if Path(where).is_absolute() or not where.startswith(f"{METRICS}/"):
        raise ArtifactError(
            f"{bundle / MANIFEST}: competition.metric.function {spec['function']!r} is not a "
            f"file in the bundle's {METRICS}/ (exported by an older podium); re-export it"
        )
    copy = (bundle / where).resolve()
    if not copy.is_file():
        raise ArtifactError(
            f"{bundle / where}: missing from the bundle (the metric the runs were scored with); "
            "copy the whole bundle again or re-export it (podium export)"
        )
    if sha256(copy) != spec.get("sha256"):
        raise ArtifactError(
            f"{bundle / where}: sha256 differs from the metric the runs were scored with "
            "(manifest.json); copy the whole bundle again or re-export it (podium export)"
        )
