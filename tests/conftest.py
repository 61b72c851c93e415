"""Shared fixtures: the demo competition written once per test session into a temp folder,
and configs for a tiny model (timm's `test_convnext`) that train in about a second an epoch.

`tiny_config(tmp_path, **overrides)` builds a Config whose data/runs/submissions folders
live under `tmp_path`; `trained` is one experiment trained on its 2 folds x 1 epoch, shared
read-only by tests that only need finished checkpoints (copy it before changing it).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import pytest  # noqa: E402
import torch  # noqa: E402

from factories import copy_demo_head  # noqa: E402
from podium.config import apply_overrides, from_dict, read_yaml  # noqa: E402
from podium.experiment import Experiment  # noqa: E402
from podium.stages import folds as folds_stage  # noqa: E402
from podium.stages import train as train_stage  # noqa: E402
from podium.stages.demo_data import write_demo  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
# 2 threads on a dedicated CI machine; OMP_NUM_THREADS=1 (shared dev machines) is honoured,
# since oversubscribed intra-op threads make tiny models ~100x slower
torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))


def pytest_collection_modifyitems(config, items):
    """`@pytest.mark.cuda` tests run where a CUDA device is visible and skip elsewhere (CI)."""
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if item.get_closest_marker("cuda") is not None:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def demo_data_root(tmp_path_factory) -> Path:
    """A read-only demo competition: <root>/digits/..."""
    root = tmp_path_factory.mktemp("data")
    write_demo(root)
    return root


def make_config(
    work: Path,
    data_root: Path,
    overrides: list[str] | None = None,
    base: str = "configs/digits/base.yaml",
):
    d = read_yaml(ROOT / base)
    d.setdefault("name", "tiny")
    d = apply_overrides(
        d,
        [
            "model.name=test_convnext",
            "train.epochs=1",
            "train.progress=false",
            "folds.n_splits=2",
            "data.num_workers=0",
            "infer.batch_size=512",
            f"paths.data={data_root}",
            f"paths.runs={work / 'runs'}",
            f"paths.submissions={work / 'submissions'}",
        ]
        + (overrides or []),
    )
    return from_dict(d, source="tiny")


@pytest.fixture
def tiny_config(tmp_path, demo_data_root):
    def build(*overrides: str, base: str = "configs/digits/base.yaml"):
        return make_config(tmp_path, demo_data_root, list(overrides), base)

    return build


@pytest.fixture(scope="session")
def trained(tmp_path_factory, demo_data_root) -> Experiment:
    """folds + train (2 folds x 1 seed x 1 epoch, tiny model), done once per session."""
    work = tmp_path_factory.mktemp("trained")
    cfg = make_config(work, demo_data_root)
    folds_stage.run(cfg)
    exp = Experiment(cfg)
    train_stage.run(exp)
    return exp


@pytest.fixture
def trained_copy(trained, tmp_path) -> Experiment:
    """A private copy of `trained` that a test may change."""
    work = tmp_path / "work"
    shutil.copytree(Path(trained.cfg.paths.runs), work / "runs")
    cfg = make_config(work, Path(trained.cfg.paths.data))
    return Experiment(cfg)


@pytest.fixture
def small_demo(demo_data_root, tmp_path) -> Path:
    """The first 240 rows of the demo competition (exact-resume and torchrun tests)."""
    return copy_demo_head(demo_data_root, tmp_path / "data", 240, 16)
