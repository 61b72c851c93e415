"""How close podium's training and inference come to the device's own limit, in one run.

For each model it measures, in this order:

  limit     the same model, optimizer, loss, precision, memory format and batch size on
            synthetic batches already on the device: the most any data path could deliver;
  loader    podium's DataLoader alone (uint8 cache -> albumentations RandomResizedCrop +
            HorizontalFlip -> collated, pinned batches), no model;
  podium    `engine.trainer.fit` on a Kaggle-like competition (JPEGs -> `Experiment`'s decode
            cache -> the loader above -> prefetch to the device -> the loop), one warm-up
            epoch and then the measured ones; img/s of the step loop (loader included) and
            the epoch's wall time (validation and checkpoints included);
  inference `predict.predict_logits` (the oof/infer path) per TTA view, against the model's
            forward pass on synthetic batches on the device;
  ddp N=1   with `--ddp`: `fit` again inside a process group of one (DDP-wrapped model,
            sharded sampler and validation), as a ratio of `podium`: DDP's overhead where
            it is not needed.

The competition (train.csv, train/*.jpg, test/*.jpg, sample_submission.csv) is generated
once under `--cache-dir` and reused. Timed regions are bracketed by `torch.cuda.synchronize()`
on CUDA. Peak memory is `torch.cuda.max_memory_allocated` on CUDA and the main process's
peak RSS (VmHWM, reset per phase) on the CPU. On a CPU shared with other jobs, wall-clock
rates swing with their load; with `--workers 0` the CPU seconds of this process are also
reported, a steadier measure of the work each phase did.

An epoch has `--steps` steps (CPU default 30); on CUDA it is sized from the limit to last
about `--epoch-seconds` (10), so that the start of an epoch is a small part of it.

    python benchmarks/throughput.py                      # CPU: resnet18@64, small and quick
    python benchmarks/throughput.py --device cuda        # resnet50@224, efficientnet_b0@224,
                                                         # resnet18@64 on 20,000 JPEGs at 256 px
    python benchmarks/throughput.py --models resnet50@224:128 --compile --json out.json
    python benchmarks/throughput.py --device cuda --ddp   # + DDP with one process vs plain
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import timm  # noqa: E402
import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402

from podium.artifacts import write_json  # noqa: E402
from podium.config import Config, from_dict  # noqa: E402
from podium.data.augment import build_train_transform  # noqa: E402
from podium.data.dataset import EpochSampler, ImageDataset, train_loader  # noqa: E402
from podium.data.device import Normalizer  # noqa: E402
from podium.engine.optim import build_optimizer  # noqa: E402
from podium.engine.precision import Precision, resolve_device, resolve_precision  # noqa: E402
from podium.engine.predict import predict_logits  # noqa: E402
from podium.engine.trainer import TrainRows, ValidRows, build_model, fit  # noqa: E402
from podium.experiment import Experiment  # noqa: E402
from podium.tasks import Task  # noqa: E402

# name@size:batch; the anchors were measured with these on one H100 (device limit
# 3,965 / 4,541 / 45,169 img/s in bf16, channels_last, AdamW)
CUDA_MODELS = ["resnet50@224:256", "efficientnet_b0@224:256", "resnet18@64:512"]
CPU_MODELS = ["resnet18@64:64"]
CPU_STEPS = 30


# ---- the competition -----------------------------------------------------------------------


def synthetic_image(rng: np.random.Generator, px: int) -> np.ndarray:
    """A smooth random colour field with noise: JPEG-compressible like a photo, not like
    white noise (which would make decoding unrealistically slow)."""
    field_ = cv2.resize(
        rng.integers(0, 256, (5, 5, 3), dtype=np.uint8), (px, px), interpolation=cv2.INTER_CUBIC
    )
    noise = rng.normal(0, 8, (px, px, 3))
    return np.clip(field_ + noise, 0, 255).astype(np.uint8)


def write_competition(root: Path, n_train: int, n_test: int, px: int, classes: int) -> Path:
    """Kaggle's layout under `root/<name>/`, written once (atomically: a temp folder renamed)."""
    name = f"synth-{n_train}_{n_test}x{px}px-{classes}c"  # a valid competition name: no "+"
    out = root / name
    if (out / "sample_submission.csv").is_file():
        return out
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=root))
    splits = {
        "train": [f"tr{i:06d}" for i in range(n_train)],
        "test": [f"te{i:06d}" for i in range(n_test)],
    }

    def write(split: str, i: int) -> None:
        rng = np.random.default_rng([i, split == "test"])
        img = synthetic_image(rng, px)
        cv2.imwrite(
            str(tmp / split / f"{splits[split][i]}.jpg"),
            img[..., ::-1],
            [cv2.IMWRITE_JPEG_QUALITY, 90],
        )

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:  # cv2 releases the GIL
        for split, ids in splits.items():
            (tmp / split).mkdir()
            list(pool.map(lambda i, s=split: write(s, i), range(len(ids))))
    labels = [str(i % classes) for i in range(n_train)]
    pd.DataFrame({"id": splits["train"], "label": labels}).to_csv(tmp / "train.csv", index=False)
    pd.DataFrame({"id": splits["test"], "label": "0"}).to_csv(
        tmp / "sample_submission.csv", index=False
    )
    tmp.rename(out)
    print(
        f"wrote {n_train + n_test:,} JPEGs at {px} px to {out} in {time.perf_counter() - t0:.1f}s"
    )
    return out


# ---- settings --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelSpec:
    name: str
    size: int
    batch: int

    @classmethod
    def parse(cls, text: str, default_batch: int) -> ModelSpec:
        """'resnet50@224:256' (batch optional)."""
        try:
            name, rest = text.split("@")
            size, _, batch = rest.partition(":")
            return cls(name, int(size), int(batch) if batch else default_batch)
        except ValueError:
            raise SystemExit(f"--models: {text!r} is not of the form name@size[:batch]") from None

    @property
    def label(self) -> str:
        return f"{self.name}@{self.size}"


def bench_config(args: argparse.Namespace, spec: ModelSpec, comp: Path, device: str) -> Config:
    """A podium config as a user would write it: RandomResizedCrop + HorizontalFlip on a
    cache slightly larger than the input (the usual resize-256 / crop-224 ratio)."""
    cache_px = min(args.image_px, round(spec.size * 8 / 7))
    return from_dict(
        {
            "name": f"{spec.name}-{spec.size}",
            "competition": {
                "name": comp.name,
                "train_images": "train/{id}.jpg",
                "test_images": "test/{id}.jpg",
                "solution": None,
            },
            "data": {
                "image_size": spec.size,
                "cache_size": cache_px,
                "cache": "memmap",
                "num_workers": args.workers,
                "train_augs": [
                    {"name": "RandomResizedCrop", "size": [spec.size, spec.size]},
                    {"name": "HorizontalFlip", "p": 0.5},
                ],
            },
            "model": {"name": spec.name},
            "train": {
                "epochs": 1 + args.epochs,  # the first one warms up (workers, cudnn, compile)
                "batch_size": spec.batch,
                "optimizer": "adamw",
                "lr": 1e-3,
                "warmup_epochs": 0,
                "precision": args.precision,
                "device": device,
                "channels_last": args.channels_last,
                "compile": args.compile,
                "progress": False,
            },
            "infer": {"tta": args.tta, "batch_size": args.infer_batch or spec.batch},
            "paths": {"data": str(comp.parent), "runs": str(args.cache_dir / "runs")},
        },
        source="benchmarks/throughput.py",
    )


# ---- measuring -------------------------------------------------------------------------------


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class PeakMemory:
    """Peak device memory on CUDA; on the CPU, the main process's peak RSS since `reset`
    (Linux lets a process reset its VmHWM; elsewhere the lifetime peak is reported)."""

    def __init__(self, device: torch.device) -> None:
        self.device = device

    def reset(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
            return
        with contextlib.suppress(OSError):
            Path("/proc/self/clear_refs").write_text("5")

    def gib(self) -> float:
        if self.device.type == "cuda":
            return torch.cuda.max_memory_allocated(self.device) / 2**30
        try:
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 2**20
        except OSError:
            pass
        scale = 1 if platform.system() == "Darwin" else 1024  # bytes on macOS, KiB on Linux
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**30


@dataclass
class Phase:
    """What one phase processed, in wall seconds and in CPU seconds of this process: on a
    shared CPU the latter is the steadier measure of work (with no loader workers)."""

    images: int
    seconds: float
    peak_gib: float
    cpu_seconds: float
    extra: dict = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.images / self.seconds

    @property
    def cpu_rate(self) -> float:
        return self.images / self.cpu_seconds


def timed(device: torch.device, memory: PeakMemory, run: Callable[[], int]) -> Phase:
    """Run `run` (which returns the images it processed) between two device syncs."""
    memory.reset()
    synchronize(device)
    t0, c0 = time.perf_counter(), time.process_time()
    images = run()
    synchronize(device)
    return Phase(images, time.perf_counter() - t0, memory.gib(), time.process_time() - c0)


def synthetic_batch(
    cfg: Config, batch: int, num_classes: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    fmt = torch.channels_last if cfg.train.channels_last else torch.contiguous_format
    h, w = cfg.data.image_size
    x = torch.randn(batch, 3, h, w, device=device).contiguous(memory_format=fmt)
    targets = torch.eye(num_classes, device=device)[
        torch.arange(batch, device=device) % num_classes
    ]
    return x, targets


def train_limit(
    cfg: Config,
    task: Task,
    device: torch.device,
    precision: Precision,
    steps: int | None,
    epoch_seconds: float | None,
    warmup: int,
    memory: PeakMemory,
) -> tuple[Phase, int]:
    """The step podium's loop takes (forward under autocast, soft-target loss, backward,
    optimizer and scaler step) on a batch that is already on the device, timed over `steps`
    steps; without `steps`, over as many as last about `epoch_seconds` (measured on a short
    probe), the epoch length the other phases then use too."""
    tc = cfg.train
    num_classes = task.num_outputs
    model = build_model(cfg, num_classes, device, seed=0).train()
    forward = torch.compile(model) if tc.compile else model
    labels = np.arange(tc.batch_size) % num_classes
    criterion = task.build_loss(tc, task.training_targets(labels)).to(device)
    optimizer = build_optimizer(model, tc)
    scaler = precision.grad_scaler()
    x, targets = synthetic_batch(cfg, tc.batch_size, num_classes, device)
    weights = torch.ones(tc.batch_size, device=device)

    def step() -> None:
        with precision.autocast():
            logits = forward(x)
        loss = criterion(logits, targets, weights)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        optimizer.zero_grad(set_to_none=True)

    def run(n: int) -> int:
        for _ in range(n):
            step()
        return n * tc.batch_size

    run(warmup)
    if not steps:
        probe = timed(device, memory, lambda: run(max(5, warmup)))
        steps = max(10, round(epoch_seconds * probe.rate / tc.batch_size))
    return timed(device, memory, lambda: run(steps)), steps


def loader_alone(cfg: Config, rows: TrainRows, device: torch.device, memory: PeakMemory) -> Phase:
    """podium's train DataLoader (as `fit` builds it) iterated without a model: one epoch to
    start the workers, then one timed epoch."""
    dataset = ImageDataset(
        rows.images,
        rows.targets,
        None,
        build_train_transform(cfg.data.train_augs, cfg.data.image_size),
        cfg.data.image_size,
    )
    sampler = EpochSampler(len(dataset), 0)
    batch = cfg.train.batch_size
    loader = train_loader(
        dataset, sampler, batch, cfg.data.num_workers, device.type == "cuda", True
    )
    for _ in loader:  # warm-up epoch
        pass
    sampler.set_epoch(1)

    def run() -> int:
        n = 0
        for images, _, _ in loader:
            n += len(images)
        return n

    return timed(device, memory, run)  # the persistent workers stop with the loader


def podium_fit(
    cfg: Config,
    task: Task,
    rows: TrainRows,
    valid: ValidRows,
    device: torch.device,
    memory: PeakMemory,
) -> Phase:
    """`fit` itself, warm-up epoch excluded: the step loop's img/s (loader and prefetch
    included) from the trainer's own timing, and each epoch's wall and CPU time from the
    hook (those include the small validation and the checkpoints)."""
    unit = cfg.run_dir / "bench-unit"
    shutil.rmtree(unit, ignore_errors=True)  # fit resumes from a last.pt: start fresh
    epochs: list[dict] = []
    marks = [(time.perf_counter(), time.process_time())]

    def on_epoch_end(epoch: int, row: dict) -> None:
        synchronize(device)
        marks.append((time.perf_counter(), time.process_time()))
        (w0, c0), (w1, c1) = marks[-2:]
        epochs.append({**row, "wall_seconds": w1 - w0, "cpu_seconds": c1 - c0})
        if epoch == 0:
            memory.reset()  # the measured epochs' peak, not the warm-up's

    memory.reset()
    fit(cfg, task, rows, valid, unit, seed=0, on_epoch_end=on_epoch_end)
    shutil.rmtree(unit, ignore_errors=True)
    measured = epochs[1:]
    return Phase(
        sum(e["train_images"] for e in measured),
        sum(e["train_loop_seconds"] for e in measured),
        memory.gib(),
        sum(e["cpu_seconds"] for e in measured),
        {
            "epoch_wall_seconds": float(np.mean([e["wall_seconds"] for e in measured])),
            "epoch_loop_seconds": float(np.mean([e["train_loop_seconds"] for e in measured])),
            "epoch_images": measured[0]["train_images"],
            "warmup_epoch_wall_seconds": epochs[0]["wall_seconds"],
        },
    )


def podium_fit_ddp(
    cfg: Config,
    task: Task,
    rows: TrainRows,
    valid: ValidRows,
    device: torch.device,
    memory: PeakMemory,
) -> Phase:
    """The same `fit` inside a process group of one (NCCL on CUDA, gloo on the CPU), as
    `torchrun --nproc-per-node 1` would run it: the model wrapped in DistributedDataParallel,
    the sampler and validation going through the sharding code. Against `podium`, the cost
    of DDP where it is not needed (it should be none)."""
    store = cfg.run_dir / "ddp-store"
    store.parent.mkdir(parents=True, exist_ok=True)
    store.unlink(missing_ok=True)
    backend = "nccl" if device.type == "cuda" else "gloo"
    dist.init_process_group(backend, init_method=f"file://{store}", rank=0, world_size=1)
    try:
        return podium_fit(cfg, task, rows, valid, device, memory)
    finally:
        dist.destroy_process_group()
        store.unlink(missing_ok=True)


def inference_limit(
    model: torch.nn.Module,
    cfg: Config,
    num_classes: int,
    device: torch.device,
    precision: Precision,
    steps: int,
    memory: PeakMemory,
) -> Phase:
    batch = cfg.infer.batch_size
    x, _ = synthetic_batch(cfg, batch, num_classes, device)
    model.eval()

    @torch.inference_mode()
    def run() -> int:
        with precision.autocast():
            for _ in range(steps):
                model(x)
        return steps * batch

    run()  # warm-up (cudnn picks kernels for this shape)
    return timed(device, memory, run)


def inference_podium(
    model: torch.nn.Module,
    cfg: Config,
    images: np.ndarray,
    device: torch.device,
    precision: Precision,
    memory: PeakMemory,
) -> Phase:
    """`predict_logits` over the decode cache with every configured TTA view; img/s counts
    each image once per view."""
    views = list(cfg.infer.tta)
    normalizer = Normalizer(
        cfg.data.mean, cfg.data.std, device, cfg.train.channels_last, cfg.data.image_size
    )
    batch = cfg.infer.batch_size
    predict_logits(model, images[: 2 * batch], normalizer, precision, views, batch)  # warm-up

    def run() -> int:
        predict_logits(model, images, normalizer, precision, views, batch)
        return len(images) * len(views)

    return timed(device, memory, run)


# ---- one model, all phases -------------------------------------------------------------------


class Cycled:
    """The first `n` rows of an image array, repeated to `length` rows without copying (a
    long epoch from a small dataset; `ImageDataset` only indexes and takes `len`)."""

    def __init__(self, images: np.ndarray, n: int, length: int) -> None:
        self.images, self.n, self.length = images, n, length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> np.ndarray:
        return self.images[index % self.n]


def bench_model(
    args: argparse.Namespace, spec: ModelSpec, comp: Path, device: torch.device
) -> dict:
    cfg = bench_config(args, spec, comp, str(device))
    precision = resolve_precision(device, cfg.train.precision)
    memory = PeakMemory(device)
    exp = Experiment(cfg)
    t0 = time.perf_counter()
    # decoded once into runs/<comp>/cache/ (a memmap); the train stage copies a fold's rows
    # into memory (`fold_rows`), and so does this
    images = np.array(exp.train_images)
    decode_seconds = time.perf_counter() - t0
    task = exp.task
    labels = exp.comp.targets
    num_classes = task.num_outputs
    limit, steps = train_limit(
        cfg,
        task,
        device,
        precision,
        args.steps,
        args.epoch_seconds,
        args.warmup_steps,
        memory,
    )
    n_valid = min(args.valid_images, len(images) // 4)
    n_train = len(images) - n_valid
    length = steps * spec.batch
    train_images = images[:length] if length <= n_train else Cycled(images, n_train, length)
    idx = np.arange(length) % n_train
    rows = TrainRows(train_images, task.training_targets(labels[idx]))
    valid = ValidRows(images[n_train:], labels[n_train:])
    print(
        f"\n== {spec.label}  batch {spec.batch}  {steps} steps/epoch ({length:,} images)  "
        f"cache {exp.cache_size[0]} px  precision {str(precision.dtype).removeprefix('torch.')}  "
        f"workers {cfg.data.num_workers}",
        flush=True,
    )

    result: dict = {
        "model": spec.label,
        "batch": spec.batch,
        "steps": steps,
        "decode_seconds": decode_seconds,
    }
    print(f"  limit    {limit.rate:>9,.0f} img/s  peak {limit.peak_gib:.2f} GiB", flush=True)
    loader = loader_alone(cfg, rows, device, memory)
    print(f"  loader   {loader.rate:>9,.0f} img/s  (no model)", flush=True)
    podium = podium_fit(cfg, task, rows, valid, device, memory)
    print(
        f"  podium   {podium.rate:>9,.0f} img/s  peak {podium.peak_gib:.2f} GiB  "
        f"= {podium.rate / limit.rate:.0%} of the limit; epoch of {podium.extra['epoch_images']:,} "
        f"images: {podium.extra['epoch_loop_seconds']:.2f}s loop, "
        f"{podium.extra['epoch_wall_seconds']:.2f}s wall",
        flush=True,
    )
    if args.ddp:
        ddp = podium_fit_ddp(cfg, task, rows, valid, device, memory)
        result["podium_ddp"] = {**asdict(ddp), "images_per_second": ddp.rate}
        result["ddp_ratio"] = ddp.rate / podium.rate
        print(
            f"  ddp N=1  {ddp.rate:>9,.0f} img/s  peak {ddp.peak_gib:.2f} GiB  "
            f"= {ddp.rate / podium.rate:.0%} of podium without DDP",
            flush=True,
        )
    if device.type == "cpu" and cfg.data.num_workers == 0:
        # one process does everything: CPU seconds count its work whatever else shares the cores
        print(
            f"  per CPU-second of this process: limit {limit.cpu_rate:,.1f}, podium epoch "
            f"{podium.cpu_rate:,.1f} img/s = {podium.cpu_rate / limit.cpu_rate:.0%} "
            "(validation and checkpoints included)",
            flush=True,
        )
    model = build_model(cfg, num_classes, device, seed=0)
    n_infer = min(args.infer_images, len(images))
    infer_steps = max(1, n_infer // cfg.infer.batch_size)
    ilimit = inference_limit(model, cfg, num_classes, device, precision, infer_steps, memory)
    # oof/infer read the decode cache itself (a memmap), not an in-memory copy
    ipodium = inference_podium(model, cfg, exp.train_images[:n_infer], device, precision, memory)
    views = len(cfg.infer.tta)
    print(
        f"  infer    {ipodium.rate:>9,.0f} img/s per view ({views} views: {','.join(cfg.infer.tta)})  "
        f"limit {ilimit.rate:,.0f}  = {ipodium.rate / ilimit.rate:.0%}; "
        f"{ipodium.seconds / views:.2f}s per view for {n_infer:,} images  peak {ipodium.peak_gib:.2f} GiB",
        flush=True,
    )
    for key, phase in (
        ("limit", limit),
        ("loader", loader),
        ("podium", podium),
        ("infer_limit", ilimit),
        ("infer", ipodium),
    ):
        result[key] = {**asdict(phase), "images_per_second": phase.rate}
    result["ratio"] = podium.rate / limit.rate
    result["cpu_ratio"] = podium.cpu_rate / limit.cpu_rate
    result["infer_ratio"] = ipodium.rate / ilimit.rate
    return result


# ---- the command -----------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1 ...")
    p.add_argument(
        "--models",
        nargs="+",
        help="name@size[:batch] (default: CUDA: resnet50@224:256 efficientnet_b0@224:256 resnet18@64:512; CPU: resnet18@64:64)",
    )
    p.add_argument(
        "--batch", type=int, help="batch of models named without one (default: CUDA 256; CPU 64)"
    )
    p.add_argument(
        "--images", type=int, help="train JPEGs to generate (default: CUDA 20,000; CPU 2,000)"
    )
    p.add_argument("--image-px", type=int, help="their side in pixels (default: CUDA 256; CPU 64)")
    p.add_argument("--test-images", type=int, default=200, help="test JPEGs (for the layout)")
    p.add_argument("--classes", type=int, default=10)
    p.add_argument(
        "--steps",
        type=int,
        help=f"steps per measured epoch; 0: sized by --epoch-seconds (default: CUDA 0; CPU {CPU_STEPS})",
    )
    p.add_argument(
        "--epoch-seconds",
        type=float,
        help="without --steps: size an epoch to last this long at the limit (default on CUDA: "
        "10), so that an epoch's start (first batch from the workers) is a few percent of it",
    )
    p.add_argument("--epochs", type=int, default=1, help="measured epochs, after one warm-up epoch")
    p.add_argument("--warmup-steps", type=int, default=10, help="untimed steps before the limit's")
    p.add_argument("--workers", type=int, help="loader workers (default: CUDA cores-2; CPU 0)")
    p.add_argument("--precision", default="auto", choices=["auto", "bf16", "fp16", "fp32"])
    p.add_argument("--no-channels-last", dest="channels_last", action="store_false")
    p.add_argument(
        "--compile", action="store_true", help="torch.compile the training model (podium and limit)"
    )
    p.add_argument(
        "--valid-images", type=int, default=256, help="fit's validation rows (kept small)"
    )
    p.add_argument(
        "--infer-images", type=int, help="images for inference (default: CUDA all; CPU 512)"
    )
    p.add_argument("--infer-batch", type=int, help="inference batch (default: the training batch)")
    p.add_argument("--tta", default="identity,hflip", help="comma-separated TTA views")
    p.add_argument(
        "--cache-dir",
        type=Path,
        default=Path(
            os.environ.get("PODIUM_BENCH_CACHE", Path(tempfile.gettempdir()) / "podium-throughput")
        ),
    )
    p.add_argument(
        "--ddp",
        action="store_true",
        help="also time fit under DistributedDataParallel with one process (its overhead)",
    )
    p.add_argument("--json", type=Path, help="also write the figures here")
    args = p.parse_args(argv)
    args.tta = [v for v in args.tta.split(",") if v]
    return args


def main(argv: list[str] | None = None) -> list[dict]:
    args = parse_args(argv)
    device = resolve_device(args.device)
    cuda = device.type == "cuda"
    if cuda:
        torch.backends.cudnn.benchmark = True  # as `fit` sets it: the limit gets it too
    args.images = args.images or (20_000 if cuda else 2_000)
    args.image_px = args.image_px or (256 if cuda else 64)
    if args.steps is None and args.epoch_seconds is None:
        args.epoch_seconds, args.steps = (10.0, None) if cuda else (None, CPU_STEPS)
    args.workers = (
        args.workers
        if args.workers is not None
        else (max(1, (os.cpu_count() or 2) - 2) if cuda else 0)
    )
    args.infer_images = args.infer_images or (args.images if cuda else 512)
    default_batch = args.batch or (256 if cuda else 64)
    specs = [
        ModelSpec.parse(m, default_batch)
        for m in args.models or (CUDA_MODELS if cuda else CPU_MODELS)
    ]
    where = (
        torch.cuda.get_device_name(device)
        if cuda
        else f"{platform.processor() or 'cpu'}, {torch.get_num_threads()} threads"
    )
    print(
        f"podium throughput on {device} ({where}); torch {torch.__version__}, timm {timm.__version__}, "
        f"python {sys.version.split()[0]}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}"
    )
    comp = write_competition(
        args.cache_dir / "data", args.images, args.test_images, args.image_px, args.classes
    )
    results = [bench_model(args, spec, comp, device) for spec in specs]

    print(
        f"\n{'model':<22}{'limit':>10}{'podium':>10}{'ratio':>7}{'loader':>10}{'epoch s':>9}{'infer/view':>12}{'ratio':>7}{'peak GiB':>10}"
    )
    for r in results:
        print(
            f"{r['model']:<22}{r['limit']['images_per_second']:>10,.0f}{r['podium']['images_per_second']:>10,.0f}"
            f"{r['ratio']:>7.0%}{r['loader']['images_per_second']:>10,.0f}"
            f"{r['podium']['extra']['epoch_wall_seconds']:>9.2f}{r['infer']['images_per_second']:>12,.0f}"
            f"{r['infer_ratio']:>7.0%}{r['podium']['peak_gib']:>10.2f}"
        )
    print(
        "(img/s; 'epoch s' = wall time of one measured epoch, loader, validation and checkpoints included)"
    )
    if args.json:
        settings = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
        write_json(
            args.json,
            {"device": str(device), "where": where, "settings": settings, "results": results},
        )
    return results


if __name__ == "__main__":
    main()
