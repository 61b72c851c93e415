"""`podium oof`: each fold's validation rows predicted by that fold's models (mean over
seeds) with the configured TTA views, and the honest CV score.

Writes `oof.parquet` (id, fold, target, p_<class>...) and `scores.json`: the metric and
log-loss per fold and overall, for each TTA view alone and for the merged TTA, so the gain
from TTA is visible. It also scores the other checkpoint choice (best vs last): picking the
best epoch on the fold the OOF is scored on makes `best` optimistic, and the gap says by how
much.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from podium.artifacts import proba_columns, read_json, write_json, write_parquet
from podium.experiment import Experiment
from podium.inference import UnitPredictor, require_trained
from podium.metrics import get_metric
from podium.predict import combine

_LOG_LOSS = get_metric("log_loss")


def prediction_settings(exp: Experiment) -> dict:
    """What a prediction file depends on besides the weights: a change means recompute."""
    cfg = exp.cfg
    return {
        "tta": cfg.infer.tta,
        "merge": cfg.infer.merge,
        "checkpoint": cfg.train.checkpoint,
        "seeds": cfg.train.seeds,
    }


def is_fresh(exp: Experiment, outputs: list[str], settings_file: str) -> bool:
    """Outputs exist, were made with today's prediction settings, and are newer than every
    unit's result.json."""
    paths = [exp.run_dir / o for o in outputs]
    if not all(p.exists() for p in paths):
        return False
    recorded = (
        read_json(exp.run_dir / settings_file).get("settings")
        if (exp.run_dir / settings_file).exists()
        else None
    )
    if recorded != prediction_settings(exp):
        return False
    oldest = min(p.stat().st_mtime for p in paths)
    results = list(exp.run_dir.glob("fold*/seed*/result.json"))
    return all(r.stat().st_mtime <= oldest for r in results)


def score_block(y: np.ndarray, proba: np.ndarray, fold: np.ndarray, metric_name: str) -> dict:
    metric = get_metric(metric_name)
    per_fold = {
        int(k): {
            metric.name: metric(y[fold == k], proba[fold == k]),
            "log_loss": _LOG_LOSS(y[fold == k], proba[fold == k]),
        }
        for k in np.unique(fold)
    }
    values = [v[metric.name] for v in per_fold.values()]
    return {
        metric.name: metric(y, proba),
        "log_loss": _LOG_LOSS(y, proba),
        "fold_mean": float(np.mean(values)),
        "fold_std": float(np.std(values)),
        "folds": per_fold,
    }


def run(exp: Experiment, force: bool = False) -> None:
    cfg = exp.cfg
    if not force and is_fresh(exp, ["oof.parquet", "scores.json"], "scores.json"):
        print(f"oof {cfg.name}: up to date ({exp.run_dir / 'oof.parquet'})")
        return
    all_folds = list(range(cfg.folds.n_splits))
    require_trained(exp, all_folds)
    t0 = time.time()
    comp, views, merge = exp.comp, cfg.infer.tta, cfg.infer.merge
    y, fold_of_row = comp.targets, exp.fold_of_row
    n, c = len(y), comp.num_classes
    predictor = UnitPredictor(exp)
    other = "last" if cfg.train.checkpoint == "best" else "best"
    # logits[checkpoint][v] = (S, N, C) over seeds, rows filled fold by fold
    logits = {
        ck: np.zeros((len(views), len(cfg.train.seeds), n, c), np.float32)
        for ck in (cfg.train.checkpoint, other)
    }
    for k in all_folds:
        rows = np.flatnonzero(fold_of_row == k)
        images = exp.train_images[rows]
        for ck in logits:
            for s, out in enumerate(predictor.per_seed(k, images, views, ck)):
                logits[ck][:, s, rows] = out

    def merged(ck: str, v: list[int]) -> np.ndarray:
        block = logits[ck][v]  # (len(v), S, N, C)
        return combine(block.reshape(-1, n, c), merge)

    proba = merged(cfg.train.checkpoint, list(range(len(views))))
    metric = cfg.competition.metric
    final = score_block(y, proba, fold_of_row, metric)
    scores = {
        "metric": metric,
        "greater_is_better": get_metric(metric).greater_is_better,
        "cv": final[metric],
        "log_loss": final["log_loss"],
        "settings": prediction_settings(exp),
        "final": final,
        "views": {
            view: score_block(y, merged(cfg.train.checkpoint, [i]), fold_of_row, metric)
            for i, view in enumerate(views)
        },
        f"{other}_checkpoint": score_block(
            y, merged(other, list(range(len(views)))), fold_of_row, metric
        ),
        "seconds": round(time.time() - t0, 2),
    }
    oof = pd.DataFrame(
        {
            "id": comp.train_ids,
            "fold": fold_of_row,
            "target": comp.train[comp.cfg.target_column].to_numpy(),
        }
    )
    oof[proba_columns(comp.classes)] = proba
    write_parquet(exp.run_dir / "oof.parquet", oof)
    write_json(exp.run_dir / "scores.json", scores)
    print(format_scores(cfg.name, scores))


def format_scores(name: str, scores: dict) -> str:
    m = scores["metric"]
    lines = [
        f"oof {name}: CV {m} {scores['cv']:.4f}  log_loss {scores['log_loss']:.4f}  ({scores['seconds']}s)"
    ]
    for view, s in scores.get("views", {}).items():
        lines.append(f"  view {view:<12} {m} {s[m]:.4f}  log_loss {s['log_loss']:.4f}")
    for key in ("best_checkpoint", "last_checkpoint"):
        if key in scores:
            s = scores[key]
            lines.append(
                f"  {key.split('_')[0]} weights   {m} {s[m]:.4f}  log_loss {s['log_loss']:.4f}"
            )
    return "\n".join(lines)
