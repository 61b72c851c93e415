"""`podium submit`: the validated submission CSV of an experiment or an ensemble, named
`submissions/<comp>-<name>-cv<score>-<UTC time, ms>.csv` so the file says where it came from
(a second submit of the same millisecond gets its own file, `...-2.csv`, never the same one).

`submission.json` in the run folder stamps the newest submission with what it was made from
(the test predictions and sample_submission.csv): re-running keeps it while they match.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from pathlib import Path

from podium.artifacts import file_hash, read_json, require, write_new
from podium.competition import Competition
from podium.config import Config
from podium.errors import ArtifactError
from podium.fingerprint import Stamp
from podium.mask_store import TEST_MAPS
from podium.predictions import TEST
from podium.submission import build_submission, read_submission, validate_submission

_log = logging.getLogger(__name__)


def stamp(cfg: Config, comp: Competition) -> Stamp:
    run_dir = cfg.run_dir
    name = TEST_MAPS if comp.task.pixelwise else TEST
    test = require(run_dir / name, "test predictions", f"podium infer -c {cfg.source}")
    scores = run_dir / "scores.json"
    return Stamp(
        run_dir / "submission.json",
        {
            "test": file_hash(test),
            "scores": file_hash(scores) if scores.exists() else "",
            "sample": file_hash(comp.root / comp.cfg.sample_submission),
        },
    )


def cv_of(cfg: Config) -> float:
    """The run's CV, refusing test predictions made by other folds than the CV covers."""
    scores_path, infer_path = cfg.run_dir / "scores.json", cfg.run_dir / "infer.json"
    if not scores_path.exists():
        return float("nan")
    if infer_path.exists():
        predicted = read_json(infer_path).get("folds")
        every = list(range(cfg.folds.n_splits))
        if predicted is not None and predicted != every:
            raise ArtifactError(
                f"{cfg.run_dir / TEST} was predicted by folds {predicted}, but the CV in "
                f"{scores_path} covers folds {every}; run `podium infer -c {cfg.source}` "
                "without train.folds before submitting"
            )
    return float(read_json(scores_path)["cv"])


def run(cfg: Config, force: bool = False) -> Path:
    comp = Competition.from_config(cfg)
    record = stamp(cfg, comp)
    recorded = record.recorded()
    if not force and recorded and record.fresh([Path(recorded["path"])]):
        _log.info("submission: %s (up to date)", recorded["path"])
        return Path(recorded["path"])
    cv = cv_of(cfg)
    sub = build_submission(comp, cfg.run_dir)
    validate_submission(comp, sub, "submission")
    now = datetime.now(timezone.utc)
    when = now.strftime("%Y%m%dT%H%M%S") + f"{now.microsecond // 1000:03d}Z"
    path = Path(cfg.paths.submissions) / f"{comp.cfg.name}-{cfg.name}-cv{cv:.4f}-{when}.csv"
    record.invalidate()  # a run killed after the new file never points at the old one
    written = comp.task.write_layout(sub)  # long run-length rows where the sample is long
    path = write_new(path, lambda tmp: written.to_csv(tmp, index=False))
    validate_submission(comp, read_submission(path, comp), str(path))  # what was written, read back
    record.write(path=str(path), cv=cv)
    print(f"submission: {path}  (CV {cv:.4f}, {len(sub)} rows)")
    return path
