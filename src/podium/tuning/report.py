"""What a study leaves behind in `runs/<comp>/tune/<study>/`: the trials table
(`trials.csv`), a summary (`summary.json`) and the best parameters as an overlay
(`best.yaml`) that an experiment `extends:`, e.g.

    extends: [regnetx.yaml, ../../runs/digits/tune/digits-regnetx/best.yaml]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna
import pandas as pd
import yaml
from optuna.trial import TrialState

from podium.artifacts import atomic_write_text, write_csv, write_json
from podium.tuning.space import nest


def trials_table(study: optuna.Study) -> pd.DataFrame:
    """One row per trial: number, state, value, seconds, the parameters, steps run."""
    rows = []
    for t in study.get_trials(deepcopy=False):
        seconds = (
            (t.datetime_complete - t.datetime_start).total_seconds()
            if t.datetime_complete and t.datetime_start
            else None
        )
        rows.append(
            {
                "number": t.number,
                "state": t.state.name.lower(),
                "value": t.value,
                "seconds": None if seconds is None else round(seconds, 1),
                "steps": t.user_attrs.get("steps_run"),
                **t.params,
            }
        )
    return pd.DataFrame(rows)


def counts(study: optuna.Study) -> dict[str, int]:
    states = [t.state for t in study.get_trials(deepcopy=False)]
    return {s.name.lower(): states.count(s) for s in TrialState if states.count(s)}


def best_overlay(study: optuna.Study, mode: str) -> dict[str, Any] | None:
    """The best trial's parameters as the nested mapping an experiment extends; None while
    no trial has completed. Meta parameters go under `ensemble.meta.params`."""
    try:
        best = study.best_trial
    except ValueError:
        return None
    if mode == "meta":
        return {"ensemble": {"meta": {"params": dict(best.params)}}}
    return nest(best.params)


def write_outputs(
    study: optuna.Study,
    out_dir: Path,
    mode: str,
    header: str,
    holdout: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write trials.csv, summary.json and (once a trial completed) best.yaml; `holdout` is
    the best settings' CV on the folds the study did not tune on."""
    table = trials_table(study)
    write_csv(out_dir / "trials.csv", table)
    summary: dict[str, Any] = {
        "study": study.study_name,
        "direction": study.direction.name.lower(),
        "trials": counts(study),
    }
    overlay = best_overlay(study, mode)
    if overlay is not None:
        best = study.best_trial
        summary.update(best_trial=best.number, best_value=best.value, best_params=best.params)
        switches = {k: v for k, v in best.params.items() if "." not in k and mode == "train"}
        note = f"# switches (not config keys): {switches}\n" if switches else ""
        text = (
            f"# {header}\n# best trial {best.number}: value {best.value:.6g}\n{note}"
            + yaml.safe_dump(overlay, sort_keys=False)
        )
        atomic_write_text(out_dir / "best.yaml", text)
    if holdout is not None:
        summary["holdout"] = holdout
    write_json(out_dir / "summary.json", summary)
    return summary
