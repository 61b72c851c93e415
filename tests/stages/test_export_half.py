"""`podium export --half` run by `podium predict` on a GPU (`-m cuda`): the bundle's fp16
weights, predicting on CUDA under autocast, give the test predictions of the unit's own fp32
weights predicting on the CPU, within a tolerance."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from podium.cli import main
from podium.config import load_config
from podium.experiment import Experiment
from podium.predictions import TEST, read_test
from podium.units.predict import UnitPredictor, merge_test

ROOT = Path(__file__).resolve().parents[2]
# largest difference of a class probability: bf16 autocast and fp16-rounded weights move a
# probability by about 1e-3 (measured on the CPU's bf16 autocast); a wrong path moves it by far more
TOLERANCE = 0.02


@pytest.mark.cuda
def test_a_half_bundle_on_a_gpu_predicts_like_fp32_on_the_cpu(tmp_path, demo_data_root):
    config = tmp_path / "half.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "extends": str(ROOT / "configs/digits/base.yaml"),
                "name": "half",
                "model": {"name": "test_convnext"},
                "folds": {"n_splits": 2},
                "train": {"epochs": 2, "warmup_epochs": 0, "batch_size": 16, "progress": False},
                "infer": {"tta": ["identity", "shift1_0"]},
                "paths": {"data": str(demo_data_root), "runs": str(tmp_path / "runs")},
            }
        )
    )
    assert main(["-q", "infer", "-c", str(config)]) == 0  # folds, train, infer: on the GPU
    bundle = tmp_path / "bundle"
    assert main(["-q", "export", "-c", str(config), "--half", "--out", str(bundle)]) == 0
    out = tmp_path / "predicted" / "submission.csv"
    argv = ["-q", "predict", "--bundle", str(bundle), "--data", str(demo_data_root / "digits")]
    assert main([*argv, "--out", str(out)]) == 0

    cfg = load_config(config, ["train.device=cpu", "train.precision=fp32"])
    exp = Experiment(cfg)
    logits = UnitPredictor(exp).test_logits(exp.test_images)  # the runs' fp32 weights
    on_cpu = merge_test(exp.task, logits, cfg.infer.merge)
    on_gpu = read_test(out.parent / TEST, exp.task, exp.comp.test_ids)
    assert on_gpu.shape == on_cpu.shape == (len(exp.comp.test_ids), 10)
    np.testing.assert_allclose(on_gpu, on_cpu, rtol=0, atol=TOLERANCE)
