"""One unit over several processes (`torchrun`): the process group, who writes, the model's
DistributedDataParallel wrapper, the epoch's order sharded across ranks, and validation
predictions gathered back in table order.

Started by torchrun (RANK, WORLD_SIZE, LOCAL_RANK in the environment), podium joins the
process group once (`setup`): NCCL when the unit trains on CUDA, gloo on the CPU (tests).
Without torchrun every function here is the single-process case (rank 0 of 1) and costs
nothing, so the loop has one code path.

The batch size is global: `train.batch_size` is the sum over ranks (each rank takes
`batch_size / world_size`), so a config optimises the same way (learning rate, updates per
epoch, the same samples in each global batch, with the same augmentations) at any world size.
Exact for a loss that is a mean over samples or pixels; one of sums over the batch (smp's
`dice`, `jaccard`) is each rank's share's, as BatchNorm's statistics are without sync_bn.

Why ranks take positions `rank::world_size` of the global order: global batch b is then
exactly positions [b * B, (b + 1) * B) of the epoch's order, as it is in one process, and each
sample keeps its (index, seed) pair, so its augmentation still depends only on (seed, epoch,
position). The last `len % world_size` positions are dropped (never padded with duplicates):
those are the samples that one process drops with its incomplete last batch anyway.
"""

from __future__ import annotations

import atexit
import contextlib
import inspect
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import numpy as np
import torch
import torch.distributed as dist
from torch.distributed.constants import default_pg_timeout as PG_TIMEOUT
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Sampler

from podium.config import ConfigError, TrainConfig

_log = logging.getLogger(__name__)

T = TypeVar("T")


def launched() -> bool:
    """Started by torchrun (or any launcher that sets torch.distributed's env variables)."""
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ


def env_world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def env_rank() -> int:
    return int(os.environ.get("RANK", "0"))


@dataclass(frozen=True)
class Ranks:
    """This process's place in the group: rank `rank` of `world_size` (LOCAL_RANK on its host)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def active(self) -> bool:
        """A process group exists (world size 1 under torchrun too: DDP is still used)."""
        return dist.is_available() and dist.is_initialized()

    @property
    def is_main(self) -> bool:
        """The rank that writes: checkpoints, history, result.json, stamps, locks."""
        return self.rank == 0

    def barrier(self) -> None:
        if self.active:
            dist.barrier()


def current() -> Ranks:
    """The group this process belongs to (rank 0 of 1 without one)."""
    if not (dist.is_available() and dist.is_initialized()):
        return Ranks()
    return Ranks(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))


def setup(device: str) -> Ranks:
    """Join torchrun's process group, once per process (it is left at exit: a group made
    again from the same rendezvous store would find the old one's keys): NCCL for CUDA,
    gloo otherwise. On CUDA each process uses GPU LOCAL_RANK of its host."""
    if not launched() or dist.is_initialized():
        return current()
    cuda = device != "cpu" and torch.cuda.is_available()
    if cuda:
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    backend = "nccl" if cuda else "gloo"
    store = _attempt_store()
    if store is None:
        dist.init_process_group(backend=backend)
    else:
        dist.init_process_group(backend, store=store, rank=env_rank(), world_size=env_world_size())
    atexit.register(teardown)
    ranks = current()
    _log.debug("rank %d of %d joined (%s)", ranks.rank, ranks.world_size, dist.get_backend())
    return ranks


def _attempt_store() -> dist.Store | None:
    """torchrun's store with keys of this restart attempt's own, or None (plain env://).

    torchrun's c10d rendezvous hands every attempt its agent's one store at the same
    MASTER_PORT (TORCHELASTIC_USE_AGENT_STORE) and env:// adds no per-attempt prefix: after a
    restart, a rank that joins before its peers reads the dead attempt's addresses (gloo:
    "connectFullMesh failed ... Connection refused"; NCCL: an old unique id). The restart
    count names the attempt only on one node (agents count apart: pytorch#108158)."""
    one_node = os.environ.get("LOCAL_WORLD_SIZE") == os.environ.get("WORLD_SIZE")
    if os.environ.get("TORCHELASTIC_USE_AGENT_STORE") != "True" or not one_node:
        return None
    attempt = os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")
    addr, port = os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"])
    agent = dist.TCPStore(addr, port, env_world_size(), is_master=False, timeout=PG_TIMEOUT)
    return dist.PrefixStore(f"podium/attempt{attempt}", agent)


def teardown() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def device_of(device: torch.device) -> torch.device:
    """The device a rank trains on: its own GPU (LOCAL_RANK) under a CUDA group."""
    if device.type == "cuda" and current().active and device.index is None:
        return torch.device("cuda", torch.cuda.current_device())
    return device


def main_decides(decide: Callable[[], bool]) -> bool:
    """Rank 0 runs `decide` (it may write: locks, stamps, started.json) and every rank gets
    its answer, so all ranks take the same branch. An error on rank 0 ends that process;
    torchrun then stops the others."""
    ranks = current()
    if not ranks.active:
        return decide()
    flag = torch.zeros(1, dtype=torch.int64, device=_comm_device())
    if ranks.is_main:
        flag[0] = int(decide())
    dist.broadcast(flag, src=0)
    return bool(flag.item())


@contextlib.contextmanager
def main_first() -> Iterator[None]:
    """Rank 0 runs the block first (writes what is missing); the others run it after, when
    they find it written (fresh) and only read."""
    ranks = current()
    if not ranks.is_main:
        ranks.barrier()
    yield
    if ranks.is_main:
        ranks.barrier()


# ---- the model -----------------------------------------------------------------------------


def check_config(tc: TrainConfig, world_size: int, device: torch.device) -> None:
    """What a multi-process unit needs from `train:`, checked before anything trains."""
    if tc.batch_size % world_size:
        raise ConfigError(
            f"train.batch_size={tc.batch_size} is the global batch (summed over processes): "
            f"it must divide by the world size {world_size}"
        )
    if tc.sync_bn and world_size > 1 and device.type != "cuda":
        raise ConfigError(
            "train.sync_bn: torch's SyncBatchNorm runs on GPUs only; on the CPU (gloo) "
            "BatchNorm statistics stay per process: set train.sync_bn=false"
        )


# torch 2.14 renamed DDP's `broadcast_buffers` (still accepted, with a FutureWarning)
_NO_FORWARD_BUFFER_SYNC: dict[str, Any] = (
    {"forward_sync_buffers": False}
    if "forward_sync_buffers" in inspect.signature(DistributedDataParallel).parameters
    else {"broadcast_buffers": False}
)


def step_module(model: torch.nn.Module, tc: TrainConfig, device: torch.device) -> torch.nn.Module:
    """The module the step loop calls: `model` itself in one process, else DDP around it
    (gradients all-reduced; BatchNorm buffers copied from rank 0 after each forward), with
    `train.sync_bn` converting its BatchNorm layers first; compiled when `train.compile`.

    The optimizer, EMA and checkpoints keep using the bare `model`: SyncBN conversion keeps
    its parameter and buffer objects, and state dicts carry no `module.` prefix, so they load
    into one process. A freezing schedule leaves parameters out of some steps' graphs: DDP
    must then look for unused parameters."""
    forward = model
    ranks = current()
    if ranks.active:
        check_config(tc, ranks.world_size, device)
        if tc.sync_bn:  # statistics over the global batch: small per-GPU batches at high res
            torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)  # in place below the top
        forward = DistributedDataParallel(
            model,
            device_ids=[device.index] if device.type == "cuda" else None,
            find_unused_parameters=bool(tc.freeze_backbone_epochs or tc.unfreeze),
            **_NO_FORWARD_BUFFER_SYNC,  # micro_step copies them after the forward instead
        )
    return cast(torch.nn.Module, torch.compile(forward)) if tc.compile else forward


@contextlib.contextmanager
def micro_step(forward: torch.nn.Module, sync: bool) -> Iterator[None]:
    """Around one micro-step's forward pass. Accumulation micro-steps skip the gradient
    all-reduce (`no_sync`: DDP decides it at the forward); the update's last one does it.
    After the forward, rank 0's buffers (BatchNorm running statistics) are copied to every
    rank, so the EMA update and validation see the same model everywhere; DDP's own
    broadcast (turned off) would come only before the next forward."""
    ddp = getattr(forward, "_orig_mod", forward)  # under torch.compile
    if not isinstance(ddp, DistributedDataParallel):
        yield
        return
    with contextlib.nullcontext() if sync else ddp.no_sync():
        yield
    broadcast_buffers(ddp.module)


def on_main(write: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """Only rank 0 writes (history, result.json, stamps); the others hold the same values."""
    if current().is_main:
        write(*args, **kwargs)


def global_batch(loader: DataLoader) -> int:
    """Images per optimizer micro-step over all ranks."""
    assert loader.batch_size is not None  # train_loader always sets a batch size
    return loader.batch_size * current().world_size


def broadcast_buffers(model: torch.nn.Module) -> None:
    """Rank 0's buffers (BatchNorm statistics) on every rank: one broadcast per dtype."""
    if not current().active:
        return
    by_dtype: dict[torch.dtype, list[torch.Tensor]] = {}
    for buf in model.buffers():
        by_dtype.setdefault(buf.dtype, []).append(buf)
    for bufs in by_dtype.values():
        flat = torch.cat([b.detach().reshape(-1) for b in bufs])
        dist.broadcast(flat, src=0)
        for b, part in zip(bufs, flat.split([b.numel() for b in bufs]), strict=True):
            b.data.copy_(part.view_as(b))


# ---- data ----------------------------------------------------------------------------------


class ShardedSampler(Sampler):
    """Rank `rank`'s share of an `(index, seed)` sampler's epoch: positions rank::world_size
    of its order, `len // world_size` of them on every rank (the tail is dropped, never
    padded with duplicates)."""

    def __init__(self, sampler: Any, rank: int, world_size: int) -> None:
        self.sampler, self.rank, self.world_size = sampler, rank, world_size

    def set_epoch(self, epoch: int) -> None:
        self.sampler.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.sampler) // self.world_size

    def __iter__(self) -> Iterator[tuple[int, int]]:
        order = list(self.sampler)
        n = len(order) // self.world_size
        return iter(order[self.rank : n * self.world_size : self.world_size])


def shard(sampler: T) -> T:
    """`sampler` itself in one process, else this rank's ShardedSampler over it."""
    ranks = current()
    if ranks.world_size == 1:
        return sampler
    return ShardedSampler(sampler, ranks.rank, ranks.world_size)  # type: ignore[return-value]


def row_range(n: int) -> slice:
    """This rank's contiguous share of `n` validation rows (shares differ by at most one)."""
    ranks = current()
    sizes = _shares(n, ranks.world_size)
    start = int(sum(sizes[: ranks.rank]))
    return slice(start, start + sizes[ranks.rank])


def gather_rows(part: np.ndarray, n: int) -> np.ndarray:
    """Every rank's `part` (its `row_range(n)` rows) joined in table order on every rank:
    exactly `n` rows, none duplicated (shares are padded for the all-gather, then trimmed)."""
    ranks = current()
    if ranks.world_size == 1:
        return part
    sizes = _shares(n, ranks.world_size)
    width = max(sizes)
    local = torch.zeros((width, *part.shape[1:]), dtype=torch.float32, device=_comm_device())
    local[: len(part)] = torch.from_numpy(np.ascontiguousarray(part, dtype=np.float32))
    parts = [torch.empty_like(local) for _ in range(ranks.world_size)]
    dist.all_gather(parts, local)
    return np.concatenate([p[:s].cpu().numpy() for p, s in zip(parts, sizes, strict=True)])


def mean_over_ranks(value: torch.Tensor) -> torch.Tensor:
    """The mean of a scalar over ranks (the epoch's train loss)."""
    if not current().active:
        return value
    out = value.detach().to(_comm_device(), torch.float64).reshape(1)
    dist.all_reduce(out)
    return out / current().world_size


def _shares(n: int, world_size: int) -> list[int]:
    return [len(a) for a in np.array_split(np.arange(n), world_size)]


def _comm_device() -> torch.device:
    """NCCL moves CUDA tensors only; gloo CPU ones."""
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")
