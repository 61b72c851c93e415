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
prediction files (as `podium ensemble` does before deciding to skip). What the stamps read of
the competition (train.csv's ids and labels, the images' sizes and mtimes, the test ids) is
read once per competition rather than once per experiment (`SharedExperiment`): on 50 experiments that is
most of the board's time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from podium.competition import Competition
from podium.config import Config
from podium.ensemble.inputs import load_inputs
from podium.ensemble.inputs import stamp as ensemble_stamp
from podium.errors import USER_ERRORS
from podium.experiment import Experiment
from podium.fingerprint import Stamp, config_part, fingerprint
from podium.mask_ensemble.members import load_mask_inputs
from podium.mask_store import OOF_MAPS, TEST_MAPS
from podium.predictions import OOF, TEST, TEST_BY_FOLD
from podium.tabular.fit import tabular_parts
from podium.tasks import task_type
from podium.units.predict import infer_stamp, oof_stamp
from podium.units.stamps import mask_infer_stamp, mask_oof_stamp

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Freshness:
    state: Literal["fresh", "stale", "unknown"]
    reasons: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return self.state if not self.reasons else f"{self.state}: {'; '.join(self.reasons)}"


@dataclass
class SharedExperiment(Experiment):
    """An experiment whose Competition is shared with every other of the board that has the
    same competition section, data folder and image channels. The stamps read of it only
    what those decide (tables, ids, labels, image files); the task it builds from the train
    section, which may differ, is never used for a stamp."""

    shared: dict[str, Competition] = field(default_factory=dict, compare=False, repr=False)

    @property
    def comp(self) -> Competition:
        cfg = self.cfg
        key = fingerprint([config_part(cfg.competition), str(cfg.data_dir), cfg.data.channels])
        if key not in self.shared:
            self.shared[key] = Competition.from_config(cfg)
        return self.shared[key]


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


def _trained(cfg: Config, run_dir: Path, shared: dict) -> list[str]:
    exp = SharedExperiment(cfg, shared)
    reasons = _changed(oof_stamp(exp), "oof", [run_dir / OOF, run_dir / "scores.json"])
    return reasons + _changed(infer_stamp(exp), "test predictions (infer)", [run_dir / TEST])


def _masks(cfg: Config, run_dir: Path, shared: dict) -> list[str]:
    exp = SharedExperiment(cfg, shared)
    reasons = _changed(mask_oof_stamp(exp), "oof", [run_dir / OOF_MAPS, run_dir / "scores.json"])
    return reasons + _changed(mask_infer_stamp(exp), "test maps (infer)", [run_dir / TEST_MAPS])


def _tabular(cfg: Config, run_dir: Path, shared: dict) -> list[str]:
    outputs = [run_dir / f for f in (OOF, TEST, TEST_BY_FOLD, "scores.json")]
    stamp = Stamp(run_dir / "tabular.json", tabular_parts(SharedExperiment(cfg, shared)))
    return _changed(stamp, "tabular fit", outputs)


def _ensemble(cfg: Config, run_dir: Path, shared: dict) -> list[str]:
    section = cfg.section("ensemble")
    if task_type(cfg.competition).pixelwise:  # an ensemble of maps (podium.mask_ensemble)
        inputs, files = load_mask_inputs(cfg), (OOF_MAPS, TEST_MAPS)
    else:
        inputs, files = load_inputs(cfg, section), (OOF, TEST)
    stamp = ensemble_stamp(cfg, section, inputs, run_dir)
    outputs = [run_dir / f for f in (*files, "scores.json", "report.md")]
    return _changed(stamp, "ensemble", outputs)


def check_run(cfg: Config, run_dir: Path, shared: dict[str, Competition]) -> Freshness:
    """The run's freshness, judged by `cfg` (its config file as it is now, where found);
    `shared`: the competitions read so far (SharedExperiment)."""
    if (run_dir / "ensemble.json").exists() or cfg.ensemble is not None:
        check = _ensemble
    elif (run_dir / "tabular.json").exists() or cfg.tabular is not None:
        check = _tabular
    elif task_type(cfg.competition).pixelwise:
        check = _masks
    else:
        check = _trained
    try:
        reasons = check(cfg, run_dir, shared)
    except USER_ERRORS as e:  # what the stage would refuse with: missing or changed inputs
        return Freshness("stale", (_one_line(e),))
    except Exception as e:  # noqa: BLE001 - one odd run must not take the board down
        _log.debug("board: freshness of %s", run_dir, exc_info=True)
        return Freshness("unknown", (f"{type(e).__name__}: {_one_line(e)}",))
    return Freshness("stale", tuple(reasons)) if reasons else Freshness("fresh")


def _one_line(e: BaseException) -> str:
    return "; ".join(line.strip() for line in str(e).splitlines() if line.strip())
