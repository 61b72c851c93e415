"""`podium export -c CONFIG [--out DIR] [--half] [--wheels SPEC...]`: a self-contained
inference bundle of an experiment, an ensemble or a pseudo-label student, for a machine with
no network and no runs/ (a Kaggle code competition): see `podium.bundle`.

The story: check that every artifact the current predictions came from exists and is fresh
(else refuse, naming the command that makes it); copy the members' inference weights (fp16
with --half), a tabular member's safe models, the ensemble's chosen combination (blend
weights or meta-models), the task's targets, a plug-in metric's file, the decisions the submission makes with what was fitted on every OOF
row (multilabel thresholds, ordinal cut-points); build podium's wheel (and with --wheels download
dependency wheels: the only network use); write the Kaggle dataset and kernel files; hash
everything into manifest.json. The bundle is built beside DIR and renamed into place.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

from podium.bundle.contents import (
    MEMBER_EXPORTS,
    check_member,
    export_combination,
    export_decisions,
    export_targets,
    inference_config,
)
from podium.bundle.manifest import bundle_size, check_replaceable, write_manifest
from podium.bundle.metric import export_metrics
from podium.bundle.package import (
    WHEELS,
    build_podium_wheel,
    download_wheels,
    write_kaggle_files,
)
from podium.config import Config
from podium.engine.precision import resolve_device
from podium.experiment import Experiment

_log = logging.getLogger(__name__)


def run(
    cfg: Config,
    members: list[Config],
    out: Path | None = None,
    half: bool = False,
    wheels: list[str] | None = None,
) -> Path:
    bundle = Path(out) if out is not None else cfg.run_dir / "bundle"
    check_replaceable(bundle)  # a folder of the user's is never deleted
    work = bundle.with_name(f".{bundle.name}.partial")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        if cfg.kind.has_members:
            combination = export_combination(cfg, work)
        else:
            combination = {"chosen": cfg.name, "kind": "member", "members": [cfg.name]}
        for m in members:
            check_member(m, cfg)
        entries = [MEMBER_EXPORTS[m.kind.exports](m, work, half) for m in members]
        export_targets(cfg, work)
        decisions = export_decisions(cfg, work)
        wheel = build_podium_wheel(work / WHEELS)
        extra = download_wheels(work / WHEELS, wheels) if wheels else []
        task = Experiment(cfg).task
        sample = cfg.competition.sample_submission
        gpu = resolve_device(cfg.train.device).type == "cuda"
        maps = "test_maps.npy" if task.pixelwise else "test.parquet"
        write_kaggle_files(work, cfg.competition.name, cfg.name, sample, gpu, maps)
        content: dict[str, Any] = {
            "name": cfg.name,
            "kind": cfg.kind.name,
            "task": task.name,
            "columns": task.columns,
            "labels": [c.split("_", 1)[-1] for c in task.columns],  # what the columns stand for
            "config": inference_config(cfg),
            "members": entries,
            "combination": combination,
            "decisions": decisions,
            "half": half,
            "wheels": [wheel.name, *(w.name for w in extra)],
        }
        # a plug-in metric's file, copied; the stored configs point at the copy
        stored = [
            (cfg, content["config"]),
            *((m, e["config"]) for m, e in zip(members, entries, strict=True)),
        ]
        content["metric_files"] = export_metrics(work, stored)
        manifest = write_manifest(work, content)
        check_replaceable(bundle)  # again: the user may have put files there meanwhile
        shutil.rmtree(bundle, ignore_errors=True)
        work.rename(bundle)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    size = bundle_size(bundle)
    print(
        f"bundle: {bundle} ({size / 1e6:.1f} MB, {len(manifest['files'])} files; "
        f"{len(entries)} member(s), {combination['kind']} {combination['chosen']!r})"
    )
    print(f"  upload:  kaggle datasets create -p {bundle}   (edit dataset-metadata.json's id)")
    print(f"  kernel:  kaggle kernels push -p {bundle / 'kernel'}")
    print(f"  offline: podium predict --bundle {bundle} --data DATA_DIR --out submission.csv")
    return bundle
