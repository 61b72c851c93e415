"""Run under torchrun by tests/engine/test_distributed.py's SyncBatchNorm test, one process
per GPU (NCCL): the engine's step with `train.sync_bn` (its BatchNorm layers converted to
SyncBatchNorm inside DistributedDataParallel) beside the same step on a plain copy of the
model (no DDP, no conversion), on the same batches; what each saw goes to OUT/rank{r}.json.

    torchrun --standalone --nproc-per-node 1 tests/engine/torchrun_sync_bn.py CONFIG.json OUT

With one process SyncBatchNorm reduces over one rank, so both must end with the same
weights and running statistics; with N GPUs the statistics are over the global batch.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402

from podium.config import from_dict  # noqa: E402
from podium.data.device import Normalizer  # noqa: E402
from podium.engine import distributed  # noqa: E402
from podium.engine.network import build_model  # noqa: E402
from podium.engine.rows import TrainRows  # noqa: E402
from podium.engine.step import build_step  # noqa: E402
from podium.tasks.classification import Multiclass  # noqa: E402

cfg = from_dict(json.loads(Path(sys.argv[1]).read_text()), source=sys.argv[1])
out = Path(sys.argv[2])
torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
device = torch.device("cuda", int(os.environ["LOCAL_RANK"]))
torch.cuda.set_device(device)
task = Multiclass(cfg.competition, Path("synthetic"), ["dark", "bright"])
rng = np.random.default_rng(int(os.environ["RANK"]))
labels = rng.integers(0, 2, 32)
images = np.clip(
    np.where(labels[:, None, None, None] == 1, 170, 60) + rng.normal(0, 25, (32, 32, 32, 3)),
    0,
    255,
).astype(np.uint8)
rows = TrainRows(images, np.eye(2, dtype=np.float32)[labels])
x = Normalizer(cfg.data.mean, cfg.data.std, device, cfg.train.channels_last)(images)
targets = torch.from_numpy(rows.targets).to(device)
weights = torch.ones(len(images), device=device)

# the plain step first, before the process group exists: the model itself, BatchNorm kept
plain_model = build_model(cfg, 2, device, seed=0).train()
plain = build_step(cfg, task, rows, plain_model, device)
ranks = distributed.setup(cfg.train.device)  # NCCL
synced = build_step(cfg, task, rows, build_model(cfg, 2, device, seed=0).train(), device)
for _ in range(3):
    synced(x, targets, weights)
    plain(x, targets, weights)


def max_difference(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    return max(float((a[k].float() - b[k].float()).abs().max()) for k in a)


seen = {
    "backend": dist.get_backend(),
    "world_size": ranks.world_size,
    "ddp": isinstance(synced.forward, torch.nn.parallel.DistributedDataParallel),
    "sync_bn_layers": sum(isinstance(m, torch.nn.SyncBatchNorm) for m in synced.model.modules()),
    "plain_bn_layers": sum(isinstance(m, torch.nn.BatchNorm2d) for m in plain_model.modules()),
    "max_difference": max_difference(synced.model.state_dict(), plain_model.state_dict()),
    "updates": synced.num_updates,
}
(out / f"rank{ranks.rank}.json").write_text(json.dumps(seen))
distributed.teardown()
