"""`podium predict` from a bundle alone: the members' test predictions through the code
`podium infer` runs (`UnitPredictor`: batched TTA, the task's merge) or a tabular member's
stored models, then the ensemble's chosen combination through the ensemble's own code (the
task's blends, `stack_predict` on the saved meta-models), then the submission, validated
against sample_submission.csv. Same device, same numbers as `infer` + `ensemble`.

The bundle's members are read as runs (bundle/runs/<comp>/<member>/...), the competition from
the data folder given; train.csv is replaced by the bundle's targets.csv (the task's schema).

What it writes is only what the user names: the submission (`--out`) and, when asked, the test
predictions (`--predictions`). Neither may lie inside a podium runs folder, a competition's
data folder or the bundle (`./runs`, `./data`, `--data`, `--bundle`, or a folder holding
run.json, folds.csv or sample_submission.csv): predictions on other data written there would
pass for an experiment's own (a later `podium submit` would submit them under its CV), or
replace the user's input.
"""

from __future__ import annotations

import copy
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from podium.artifacts import read_json, write_csv
from podium.bundle.contents import DECISIONS, TARGETS
from podium.bundle.manifest import MANIFEST, read_manifest
from podium.competition import Competition
from podium.config import Config, from_dict
from podium.ensemble.blend import mean_blend
from podium.ensemble.features import test_level2
from podium.ensemble.schema import FeaturesConfig
from podium.ensemble.stack import stack_predict
from podium.errors import USER_ERRORS, ArtifactError, ConfigError, DataError
from podium.experiment import Experiment
from podium.predictions import TEST, read_test, write_test
from podium.submission import (
    Decisions,
    build_submission,
    read_submission,
    validate_submission,
)
from podium.tabular.fit import predict_seeds, split_pixels
from podium.tabular.schema import parse_tabular
from podium.tabular.store import load_model
from podium.units.predict import UnitPredictor, merge_test

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
    return from_dict(d, source=f"{bundle / MANIFEST} ({what})")


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


class MemberRun:
    """One member's test predictions from the bundle."""

    def __init__(self, entry: dict[str, Any], cfg: Config) -> None:
        self.entry, self.cfg, self.exp = entry, cfg, Experiment(cfg)
        self.name = entry["name"]

    @property
    def n_models(self) -> int:
        if self.entry["kind"] == "tabular":
            return len(self.entry["folds"])
        return len(self.entry["folds"]) * len(self.entry["seeds"]) * len(self.entry["weights"])

    @property
    def views(self) -> int:
        return 1 if self.entry["kind"] == "tabular" else len(self.cfg.infer.tta)

    def predict(self, bar: tqdm) -> np.ndarray:
        task = self.exp.task
        if self.entry["kind"] == "tabular":
            section = parse_tabular(self.cfg)
            x = split_pixels(self.exp, section, "test")
            by_fold = []
            for k in self.entry["folds"]:
                fold_dir = self.exp.run_dir / f"fold{k}"
                models = [load_model(fold_dir / f"model_seed{s}") for s in self.entry["seeds"]]
                by_fold.append(predict_seeds(models, x, task.num_outputs))
                bar.update(1)
            return np.mean(by_fold, axis=0)
        predictor = UnitPredictor(self.exp)
        logits = predictor.test_logits(self.exp.test_images, on_model=lambda: bar.update(1))
        return merge_test(task, logits, self.cfg.infer.merge)


def estimate_seconds(runs: list[MemberRun], n_images: int) -> float | None:
    """Seconds for every member, from one timed batch of the first CNN member's first unit."""
    cnn = next((r for r in runs if r.entry["kind"] == "cnn"), None)
    if cnn is None or n_images == 0:
        return None
    images = cnn.exp.test_images[: min(n_images, 64)]
    predictor = UnitPredictor(cnn.exp)
    fold, seed = cnn.entry["folds"][0], cnn.entry["seeds"][0]
    predictor.logits(fold, seed, images[:8], ["identity"])  # warm-up: first call allocates
    t0 = time.perf_counter()
    predictor.logits(fold, seed, images, ["identity"])
    per_pass = (time.perf_counter() - t0) / len(images)
    passes = sum(r.n_models * r.views for r in runs if r.entry["kind"] == "cnn")
    return per_pass * n_images * passes


def combine(
    manifest: dict[str, Any],
    names: list[str],
    tests: list[np.ndarray],
    comp: Competition,
    bundle: Path,
) -> np.ndarray:
    """The ensemble's chosen candidate on the members' test predictions (as `podium
    ensemble` computed it), or the one member's."""
    c, task = manifest["combination"], comp.task
    kind = c["kind"]
    if kind == "member":
        return tests[names.index(c["chosen"])]
    if kind == "mean":
        return mean_blend(tests)
    if kind == "blend":
        weights = np.array([c["weights_by_fold"][n] for n in names]).T  # (K, M)
        return task.blends()[c["chosen"]].apply(tests, weights.mean(axis=0))
    if kind == "stack":
        x_test = test_level2(tests, names, comp, FeaturesConfig(**c["features"]))
        units = [(int(k), int(s)) for k, s in c["meta_units"]]
        return stack_predict(task, x_test, tests, bundle / "ensemble" / "meta", units)
    raise ArtifactError(f"{bundle / MANIFEST}: unknown combination kind {kind!r}")


def decisions(manifest: dict[str, Any], bundle: Path, comp: Competition) -> Decisions:
    """The thresholds / cut-points `podium export` carried from the run's scores.json, for
    the same submission hooks `podium submit` uses (`build_submission`)."""
    if manifest.get("decisions") is None:
        if comp.task.decision_keys:
            raise ArtifactError(
                f"{bundle / MANIFEST}: no {', '.join(comp.task.decision_keys)} fitted on the OOF "
                "rows (exported by an older podium); re-export the bundle with podium export"
            )
        return None, str(bundle / MANIFEST)
    path = bundle / DECISIONS
    return read_json(path)["final"], str(path)


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
    runs = [
        MemberRun(m, bundle_config(m["config"], bundle, root, f"member {m['name']}"))
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
    with tqdm(total=total, desc="predict", unit="model") as bar:
        for r in runs:
            pred = r.predict(bar)
            # through the prediction file, as the ensemble reads its members
            path = tmp / "members" / f"{r.name}.parquet"
            write_test(path, comp.task, comp.test_ids, pred)
            tests.append(read_test(path, comp.task, comp.test_ids, f"member {r.name}"))
    names = [r.name for r in runs]
    combined = combine(manifest, names, tests, comp, bundle)
    write_test(tmp / TEST, comp.task, comp.test_ids, combined)  # what submit reads
    sub = build_submission(comp, tmp, decided)
    validate_submission(comp, sub, "submission")
    out.parent.mkdir(parents=True, exist_ok=True)
    write_csv(out, sub)
    validate_submission(comp, read_submission(out), str(out))
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
