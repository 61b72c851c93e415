"""Is a run's CV up to date? Decided the way the stages decide it, by their own stamps
(podium.fingerprint: a stage's output is fresh iff the fingerprint of what it read matches
the one it recorded), never by a copy of their rules:

- a CNN experiment or pseudo-label student: its units (`result.json`, through
  `units.predict.trained_fingerprints`: missing units, or units trained from other inputs,
  are named with the command that fixes them), then `oof.json` (oof.parquet, scores.json)
  and `infer.json` (test.parquet);
- a tabular member: `tabular.json`;
- an ensemble: `ensemble.json` (its members' prediction files, labels, folds, section).

The stamps fingerprint files by path, size and modification time and tables by their values;
no image is decoded and no prediction recomputed. An ensemble's stamp reads its members'
prediction files (as `podium ensemble` does before deciding to skip).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from podium.config import Config
from podium.ensemble.inputs import load_inputs
from podium.ensemble.inputs import stamp as ensemble_stamp
from podium.ensemble.schema import parse_ensemble
from podium.errors import USER_ERRORS
from podium.experiment import Experiment
from podium.fingerprint import Stamp
from podium.predictions import OOF, TEST, TEST_BY_FOLD
from podium.tabular.fit import tabular_parts
from podium.units.predict import infer_stamp, oof_stamp

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Freshness:
    state: Literal["fresh", "stale", "unknown"]
    reasons: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return self.state if not self.reasons else f"{self.state}: {'; '.join(self.reasons)}"


def _changed(stamp: Stamp, what: str, outputs: list[Path]) -> list[str]:
    """Why `stamp` is not fresh (nothing when it is), as the stage would say it."""
    if stamp.fresh(outputs):
        return []
    if stamp.recorded() is None:
        return [f"no {what} yet"]
    parts = [p for p in stamp.changed()]
    if parts:
        return [f"{what}: {', '.join(parts)} changed"]
    return [f"{what}: outputs missing ({', '.join(p.name for p in outputs if not p.exists())})"]


def _trained(cfg: Config, run_dir: Path) -> list[str]:
    exp = Experiment(cfg)
    reasons = _changed(oof_stamp(exp), "oof", [run_dir / OOF, run_dir / "scores.json"])
    return reasons + _changed(infer_stamp(exp), "test predictions (infer)", [run_dir / TEST])


def _tabular(cfg: Config, run_dir: Path) -> list[str]:
    outputs = [run_dir / f for f in (OOF, TEST, TEST_BY_FOLD, "scores.json")]
    stamp = Stamp(run_dir / "tabular.json", tabular_parts(Experiment(cfg)))
    return _changed(stamp, "tabular fit", outputs)


def _ensemble(cfg: Config, run_dir: Path) -> list[str]:
    section = parse_ensemble(cfg)
    stamp = ensemble_stamp(cfg, section, load_inputs(cfg, section), run_dir)
    outputs = [run_dir / f for f in (OOF, TEST, "scores.json", "report.md")]
    return _changed(stamp, "ensemble", outputs)


def check_run(cfg: Config, run_dir: Path) -> Freshness:
    """The run's freshness, judged by `cfg` (its config file as it is now, where found)."""
    if (run_dir / "ensemble.json").exists() or cfg.ensemble is not None:
        check = _ensemble
    elif (run_dir / "tabular.json").exists() or cfg.tabular is not None:
        check = _tabular
    else:
        check = _trained
    try:
        reasons = check(cfg, run_dir)
    except USER_ERRORS as e:  # what the stage would refuse with: missing or changed inputs
        return Freshness("stale", (_one_line(e),))
    except Exception as e:  # noqa: BLE001 - one odd run must not take the board down
        _log.debug("board: freshness of %s", run_dir, exc_info=True)
        return Freshness("unknown", (f"{type(e).__name__}: {_one_line(e)}",))
    return Freshness("stale", tuple(reasons)) if reasons else Freshness("fresh")


def _one_line(e: BaseException) -> str:
    return "; ".join(line.strip() for line in str(e).splitlines() if line.strip())
