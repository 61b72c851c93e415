"""`podium predict` from a bundle alone: the members' test predictions (`podium.bundle.
member_runs`: the code `podium infer` runs, or a tabular member's stored models), then the
ensemble's chosen combination through the ensemble's own code (the task's blends,
`stack_predict` on the saved meta-models, fold by fold as `podium ensemble` met the test rows),
then the submission, validated against sample_submission.csv. Same device, same numbers as
`infer` + `ensemble`.

The bundle's members are read as runs (bundle/runs/<comp>/<member>/...), the competition from
the data folder given; train.csv is replaced by the bundle's targets.csv (the task's schema).

What it writes is only what the user names: the submission (`--out`) and, when asked, the test
predictions (`--predictions`), never inside podium's or the user's folders
(`podium.bundle.places`).
"""

from __future__ import annotations

import copy
import logging
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from podium.artifacts import read_json, write_csv
from podium.bundle.contents import DECISIONS, TARGETS
from podium.bundle.manifest import MANIFEST, read_manifest
from podium.bundle.masks import bundle_mask_config, write_mask_maps
from podium.bundle.member_runs import MemberPredictions, estimate_seconds, member_run
from podium.bundle.metric import bundle_metric
from podium.bundle.places import check_output, data_root
from podium.competition import Competition
from podium.config import Config, from_dict
from podium.config.ensemble import FeaturesConfig
from podium.ensemble.blend import mean_blend
from podium.ensemble.features import test_level2
from podium.ensemble.fold_views import PER_FOLD, fold_views
from podium.ensemble.stack import blending, stack_predict
from podium.errors import USER_ERRORS, ArtifactError
from podium.experiment import Experiment
from podium.metrics import DecisionSummary
from podium.predictions import TEST, read_test, read_test_by_fold, write_test, write_test_by_fold
from podium.progress import bars
from podium.submission import (
    Decisions,
    build_submission,
    read_submission,
    validate_submission,
)

_log = logging.getLogger(__name__)


def bundle_config(d: dict[str, Any], bundle: Path, data_root: Path, what: str) -> Config:
    """A config stored in the manifest, pointed at the bundle's runs and the user's data,
    with the bundle's targets.csv for train.csv (the task's schema; no images are read)."""
    d = copy.deepcopy(d)
    d["paths"] = {"data": str(data_root), "runs": str(bundle / "runs"), "submissions": "."}
    d["competition"].update(
        train_csv=str((bundle / TARGETS).resolve()), solution=None, group_column=None
    )
    d["data"]["cache"] = "memory"  # the bundle may be read-only (a Kaggle dataset)
    if d["competition"].get("task") == "segmentation":
        bundle_mask_config(d)
    bundle_metric(d, bundle)  # a plug-in metric: the bundle's copy, its hash checked
    return from_dict(d, source=f"{bundle / MANIFEST} ({what})", base_dir=bundle.resolve())


def combine(
    manifest: dict[str, Any],
    names: list[str],
    tests: list[MemberPredictions],
    comp: Competition,
    bundle: Path,
) -> np.ndarray:
    """The ensemble's chosen candidate on the members' test predictions as `podium
    ensemble` computed it (fold by fold where it did: `podium.ensemble.fold_views`; a bundle
    made before says nothing and met the fold-averaged ones), or the one member's."""
    c = manifest["combination"]
    if c["kind"] == "member":  # one experiment, or an ensemble that chose a member alone
        return tests[names.index(c["chosen"])].merged
    how = _COMBINE.get(c["kind"])
    if how is None:
        raise ArtifactError(f"{bundle / MANIFEST}: unknown combination kind {c['kind']!r}")
    views = fold_views(
        [t.by_fold for t in tests],
        [t.merged for t in tests],
        per_fold=c.get("test_views") == PER_FOLD,
    )
    return views.mean(how(c, names, views.tests, comp, bundle))


def _mean(
    c: dict, names: list[str], tests: list[np.ndarray], comp: Competition, bundle: Path
) -> np.ndarray:
    return mean_blend(tests)


def _blend(
    c: dict, names: list[str], tests: list[np.ndarray], comp: Competition, bundle: Path
) -> np.ndarray:
    # (K, M), or (K, M, L) for per-label / per-target weights
    weights = np.moveaxis(np.array([c["weights_by_fold"][n] for n in names]), 0, 1)
    return blending(comp.task).blends()[c["chosen"]].apply(tests, weights.mean(axis=0))


def _stack(
    c: dict, names: list[str], tests: list[np.ndarray], comp: Competition, bundle: Path
) -> np.ndarray:
    x_test = test_level2(tests, names, comp, FeaturesConfig(**c["features"]))
    units = [(int(k), int(s)) for k, s in c["meta_units"]]
    return stack_predict(comp.task, x_test, tests, bundle / "ensemble" / "meta", units)


# the combination's `kind` (the chosen candidate's; "member" is `combine`'s own case) -> how
_COMBINE: dict[
    str, Callable[[dict, list[str], list[np.ndarray], Competition, Path], np.ndarray]
] = {
    "mean": _mean,
    "blend": _blend,
    "stack": _stack,
}


def decisions(manifest: dict[str, Any], bundle: Path, comp: Competition) -> Decisions:
    """The thresholds / cut-points `podium export` carried from the run's scores.json, for
    the same submission hooks `podium submit` uses (`build_submission`)."""
    decision = comp.task.decision
    if decision is None:
        return None, str(bundle / MANIFEST)
    carried = read_json(bundle / DECISIONS).get("decision") if manifest.get("decisions") else None
    if carried is None:
        raise ArtifactError(
            f"{bundle / MANIFEST}: no {decision.kind} fitted on the OOF rows (exported by an "
            "older podium); re-export the bundle with podium export"
        )
    return DecisionSummary.from_json(carried), str(bundle / DECISIONS)


def _submit(comp: Competition, tmp: Path, decided: Decisions, out: Path) -> pd.DataFrame:
    """The submission from the predictions in `tmp`, written to `out` as `podium submit`
    writes it (the file's layout: long run-length rows where the sample is long)."""
    sub = build_submission(comp, tmp, decided)
    validate_submission(comp, sub, "submission")
    out.parent.mkdir(parents=True, exist_ok=True)
    write_csv(out, comp.task.write_layout(sub))
    validate_submission(comp, read_submission(out, comp), str(out))
    return sub


def predict(bundle: Path, data: Path, out: Path, predictions: Path | None = None) -> Path:
    """Write `out` (the submission) and, when given, `predictions` (test.parquet's schema);
    returns `out`. Errors name the user's `data` folder, never the temporary link to it."""
    for path, option in ((out, "--out"), (predictions, "--predictions")):
        if path is not None:
            check_output(path, option, data, bundle)
    manifest = read_manifest(bundle)
    competition = manifest["config"]["competition"]["name"]
    with tempfile.TemporaryDirectory(prefix="podium-predict-") as tmp:
        root = data_root(Path(data), competition, Path(tmp))
        try:
            return _predict(manifest, bundle, root, Path(tmp), out, predictions)
        except USER_ERRORS as e:
            linked = str(root / competition)
            if linked == str(Path(data).resolve()):
                raise
            raise type(e)(str(e).replace(linked, str(data))) from None


def _predict(
    manifest: dict[str, Any],
    bundle: Path,
    root: Path,
    tmp: Path,
    out: Path,
    predictions: Path | None,
) -> Path:
    """The members' predictions, their combination and the submission, written where asked."""
    top = bundle_config(manifest["config"], bundle, root, "bundle")
    comp = Experiment(top).comp
    decided = decisions(manifest, bundle, comp)  # before the long part: refused early
    if comp.task.pixelwise:  # mask models' test maps, as `podium infer` stores them
        entries = manifest["members"]
        label = {1: "member"}.get(len(entries))
        members = [
            bundle_config(e["config"], bundle, root, label or f"member {e['name']}")
            for e in entries
        ]
        t0 = time.time()
        maps = write_mask_maps(manifest, members, bundle, tmp)
        _submit(comp, tmp, decided, out)
        if predictions is not None:
            shutil.copyfile(maps, predictions)
            shutil.copyfile(maps.with_suffix(".json"), predictions.with_suffix(".json"))
        _log.info("predict: %s (%d masks) in %.1fs", out, len(comp.test_ids), time.time() - t0)
        return out
    runs = [
        member_run(m, bundle_config(m["config"], bundle, root, f"member {m['name']}"), bundle)
        for m in manifest["members"]
    ]
    n = len(comp.test_ids)
    total = sum(r.n_models for r in runs)
    views = ", ".join(f"{r.name}: {r.views} views x {r.n_models} models" for r in runs)
    _log.info("predict: %d test images x (%s)", n, views)
    eta = estimate_seconds(runs, n)
    if eta is not None:
        _log.info("predict: about %.0fs on this device (timed on one batch)", eta)
    t0 = time.time()
    tests = []
    with tqdm(total=total, desc="predict", unit="model", disable=not bars()) as bar:
        for r in runs:
            pred = r.predict(bar)
            # through the prediction files, as the ensemble reads its members
            path = tmp / "members" / f"{r.name}.parquet"
            write_test(path, comp.task, comp.test_ids, pred.merged)
            by_fold_path = tmp / "members" / f"{r.name}_by_fold.parquet"
            write_test_by_fold(by_fold_path, comp.task, comp.test_ids, pred.by_fold)
            what = f"member {r.name}"
            merged = read_test(path, comp.task, comp.test_ids, what)
            by_fold = read_test_by_fold(
                by_fold_path, comp.task, comp.test_ids, sorted(pred.by_fold), what
            )
            tests.append(MemberPredictions(merged, by_fold))
    names = [r.name for r in runs]
    combined = combine(manifest, names, tests, comp, bundle)
    write_test(tmp / TEST, comp.task, comp.test_ids, combined)  # what submit reads
    sub = _submit(comp, tmp, decided, out)
    if predictions is not None:
        write_test(predictions, comp.task, comp.test_ids, combined)
    _log.info(
        "predict: %s (%d rows, %s) in %.1fs%s",
        out,
        len(sub),
        manifest["combination"]["chosen"],
        time.time() - t0,
        f"; predictions: {predictions}" if predictions is not None else "",
    )
    return out
