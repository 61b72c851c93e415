"""tune scores a trial by the weights oof/infer would use: `train.checkpoint: swa` or
`snapshots` reads the SWA average's or the snapshots' validation score, not the last epoch's."""

from __future__ import annotations

import pytest

from podium.artifacts import write_json
from podium.tuning.objective import TrainObjective


@pytest.mark.parametrize(
    ("checkpoint", "expected"),
    [("best", 0.9), ("last", 0.8), ("swa", 0.95), ("snapshots", 0.85)],
)
def test_a_trial_is_scored_by_its_checkpoints_weights(tiny_config, tmp_path, checkpoint, expected):
    extra = {
        "swa": ["train.swa={start_epoch: 1, lr: 0.001}"],
        "snapshots": ["train.epochs=2", "train.cycles=2", "train.snapshots=true"],
    }.get(checkpoint, [])
    cfg = tiny_config(*extra, f"train.checkpoint={checkpoint}")
    cfg.tune = {"study": "s", "space": {"train.lr": {"type": "float", "low": 1e-4, "high": 1e-2}}}
    objective = TrainObjective(cfg, cfg.section("tune"), "s")
    result = {"best_score": 0.9, "final_score": 0.8, "swa_score": 0.95, "snapshots_score": 0.85}
    write_json(tmp_path / "result.json", result)
    assert objective._unit_score(tmp_path) == expected
