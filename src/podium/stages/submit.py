"""`podium submit`: the validated submission CSV of an experiment or an ensemble, named
`submissions/<comp>-<name>-cv<score>-<UTC time, ms>.csv` so the file says where it came from
(and a second submit of the same millisecond gets its own file, `...-2.csv`)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from podium.artifacts import read_json, require, write_new
from podium.competition import Competition
from podium.config import Config
from podium.submission import build_submission, read_submission, validate_submission


def run(cfg: Config) -> Path:
    comp = Competition.from_config(cfg)
    test_path = require(
        cfg.run_dir / "test.parquet", "test predictions", f"podium infer -c {cfg.source}"
    )
    scores_path = cfg.run_dir / "scores.json"
    cv = read_json(scores_path)["cv"] if scores_path.exists() else float("nan")
    sub = build_submission(comp, pd.read_parquet(test_path))
    validate_submission(comp, sub, "submission")
    now = datetime.now(timezone.utc)
    stamp = now.strftime("%Y%m%dT%H%M%S") + f"{now.microsecond // 1000:03d}Z"
    path = Path(cfg.paths.submissions) / f"{comp.cfg.name}-{cfg.name}-cv{cv:.4f}-{stamp}.csv"
    # never over another submit's file of the same millisecond: a taken name gets -2, -3...
    path = write_new(path, lambda tmp: sub.to_csv(tmp, index=False))
    validate_submission(comp, read_submission(path), str(path))  # what was written, read back
    print(f"submission: {path}  (CV {cv:.4f}, {len(sub)} rows)")
    return path
