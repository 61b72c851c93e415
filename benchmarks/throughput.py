"""How close podium's training and inference come to the device's own limit, in one run.

For each model it measures, in this order:

  limit     podium's own training step (`engine.step.TrainStep`, built by `build_step` as
            `fit` builds it: model, EMA, DDP/compile, loss, mixup, optimizer, grad scaler) on
            one synthetic batch already on the device, repeated: the most that any data path
            could deliver to podium's loop;
  loader    podium's input path alone, as `fit` builds it (`engine.inputs`): the train loader
            (uint8 decode cache -> albumentations RandomResizedCrop + HorizontalFlip ->
            collated, pinned batches) and its batches moved to the device and normalised
            there; no model;
  podium    `engine.trainer.fit` itself on a Kaggle-like competition (JPEGs -> `Experiment`'s
            decode cache -> the loader above -> the loop and its step), one warm-up epoch and
            then the measured ones; img/s of the step loop (loader included) and the epoch's
            wall time (validation and checkpoints included);
  inference `predict.predict_logits` (the oof/infer path) per TTA view, against the model's
            forward pass on synthetic batches on the device;
  ddp N=1   with `--ddp`: `fit` again inside a process group of one (DDP-wrapped model,
            sharded sampler and validation), as a ratio of `podium`: DDP's overhead where
            it is not needed.

`--phases` leaves out loader, podium or infer (the limit is always measured: it sizes the
epoch and is every ratio's denominator). The competition (synthetic_competition.py) is
generated once under `--cache-dir` and reused. Timed regions are bracketed by device
synchronisations (timing.py). On a CPU shared with other jobs, wall-clock rates swing with
their load; with `--workers 0` the CPU seconds of this process are also reported.

An epoch has `--steps` steps (CPU default 30); on CUDA it is sized from the limit to last
about `--epoch-seconds` (10), so that the start of an epoch is a small part of it.

    python benchmarks/throughput.py                      # CPU: resnet18@64, small and quick
    python benchmarks/throughput.py --device cuda        # resnet50@224, efficientnet_b0@224
                                                         # (batch 128), resnet18@64 (batch 512)
                                                         # on 20,000 JPEGs at 256 px, bf16
    python benchmarks/throughput.py --models resnet50@224:128 --compile --json out.json
    python benchmarks/throughput.py --device cuda --ddp   # + DDP with one process vs plain
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import numpy as np  # noqa: E402
import timm  # noqa: E402
import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402
from synthetic_competition import write_competition  # noqa: E402
from timing import PeakMemory, Phase, synchronize, timed  # noqa: E402

from podium.artifacts import write_json  # noqa: E402
from podium.config import Config, from_dict  # noqa: E402
from podium.data.device import Normalizer  # noqa: E402
from podium.engine.inputs import build_train_loader, device_batches  # noqa: E402
from podium.engine.network import build_model  # noqa: E402
from podium.engine.precision import Precision, resolve_device, resolve_precision  # noqa: E402
from podium.engine.predict import predict_logits  # noqa: E402
from podium.engine.rows import TrainRows, ValidRows  # noqa: E402
from podium.engine.step import build_step  # noqa: E402
from podium.engine.trainer import fit  # noqa: E402
from podium.experiment import Experiment  # noqa: E402
from podium.tasks import Task  # noqa: E402

# name@size:batch; issue #27's anchors were measured with these on one H100 (limit 3,965 /
# 4,541 / 45,169 img/s in bf16, channels_last, AdamW)
CUDA_MODELS = ["resnet50@224:128", "efficientnet_b0@224:128", "resnet18@64:512"]
CPU_MODELS = ["resnet18@64:64"]
CPU_STEPS = 30
PHASES = ("loader", "podium", "infer")  # besides the limit, which is always measured


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


# ---- the phases ------------------------------------------------------------------------------


def synthetic_batch(
    cfg: Config, batch: int, num_classes: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """A normalised float batch in the step's memory format and one-hot targets, on the device."""
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
    rows: TrainRows,
    device: torch.device,
    steps: int | None,
    epoch_seconds: float | None,
    warmup: int,
    memory: PeakMemory,
) -> tuple[Phase, int]:
    """podium's own step, built as `fit` builds it for `rows` (their targets shape the loss),
    on one batch that is already on the device, timed over `steps` steps; without `steps`,
    over as many as last about `epoch_seconds` (measured on a short probe): the epoch length
    the other phases then use too."""
    batch = cfg.train.batch_size
    model = build_model(cfg, task.num_outputs, device, seed=0).train()
    step = build_step(cfg, task, rows, model, device)
    x, targets = synthetic_batch(cfg, batch, task.num_outputs, device)
    weights = torch.ones(batch, device=device)

    def run(n: int) -> int:
        for _ in range(n):
            step(x, targets, weights)
        return n * batch

    run(warmup)  # cudnn's kernel choice, torch.compile, the allocator's first blocks
    if not steps:
        assert epoch_seconds is not None
        probe = timed(device, memory, lambda: run(max(5, warmup)))
        steps = max(10, round(epoch_seconds * probe.rate / batch))
    return timed(device, memory, lambda: run(steps)), steps


def input_pipeline(
    cfg: Config, task: Task, rows: TrainRows, device: torch.device, memory: PeakMemory
) -> Phase:
    """podium's input path without a model, built as `fit` builds it: the train loader and
    its batches on the device (`device_batches`: copied and normalised there, one batch ahead
    on a GPU). One epoch starts the workers, the next is timed."""
    loader, sampler = build_train_loader(cfg, task, rows, 0, device)
    batches = device_batches(cfg, loader, device)
    for _ in batches:  # warm-up epoch
        pass
    sampler.set_epoch(1)

    def run() -> int:
        n = 0
        for images, *_ in batches:
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


class Cycled:
    """The first `n` rows of an image array, repeated to `length` rows without copying (a
    long epoch from a small dataset; `ImageDataset` only indexes and takes `len`)."""

    def __init__(self, images: np.ndarray, n: int, length: int) -> None:
        self.images, self.n, self.length = images, n, length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> np.ndarray:
        return self.images[index % self.n]


# ---- one model, every phase -----------------------------------------------------------------


def bench_model(
    args: argparse.Namespace, spec: ModelSpec, comp: Path, device: torch.device
) -> dict:
    """Every phase of `args.phases` for one model; the figures as a JSON-ready dict."""
    cfg = bench_config(args, spec, comp, str(device))
    precision = resolve_precision(device, cfg.train.precision)
    memory = PeakMemory(device)
    exp = Experiment(cfg)
    t0 = time.perf_counter()
    # decoded once into runs/<comp>/cache/ (a memmap); the train stage copies a fold's rows
    # into memory (`fold_rows`), and so does this
    images = np.array(exp.train_images)
    decode_seconds = time.perf_counter() - t0
    task, labels = exp.task, exp.comp.targets
    n_valid = min(args.valid_images, len(images) // 4)
    n_train = len(images) - n_valid
    all_rows = TrainRows(images[:n_train], task.training_targets(labels[:n_train]))
    limit, steps = train_limit(
        cfg, task, all_rows, device, args.steps, args.epoch_seconds, args.warmup_steps, memory
    )
    # an epoch of `steps` batches: the training rows cycled to that length
    length = steps * spec.batch
    train_images = images[:length] if length <= n_train else Cycled(images, n_train, length)
    rows = TrainRows(train_images, task.training_targets(labels[np.arange(length) % n_train]))
    valid = ValidRows(images[n_train:], labels[n_train:])
    print(
        f"\n== {spec.label}  batch {spec.batch}  {steps} steps/epoch ({length:,} images)  "
        f"cache {exp.cache_size[0]} px  precision {str(precision.dtype).removeprefix('torch.')}  "
        f"channels_last {cfg.train.channels_last}  compile {cfg.train.compile}  "
        f"workers {cfg.data.num_workers}",
        flush=True,
    )
    print(f"  limit    {limit.rate:>9,.0f} img/s  peak {limit.peak_gib:.2f} GiB", flush=True)
    phases: dict[str, Phase] = {"limit": limit}
    result: dict = {
        "model": spec.label,
        "batch": spec.batch,
        "steps": steps,
        "precision": str(precision.dtype).removeprefix("torch."),
        "channels_last": cfg.train.channels_last,
        "compile": cfg.train.compile,
        "workers": cfg.data.num_workers,
        "decode_seconds": decode_seconds,
    }
    if "loader" in args.phases:
        phases["loader"] = input_pipeline(cfg, task, rows, device, memory)
        print(f"  loader   {phases['loader'].rate:>9,.0f} img/s  (no model)", flush=True)
    if "podium" in args.phases:
        podium = phases["podium"] = podium_fit(cfg, task, rows, valid, device, memory)
        result["ratio"] = podium.rate / limit.rate
        result["cpu_ratio"] = podium.cpu_rate / limit.cpu_rate
        print(
            f"  podium   {podium.rate:>9,.0f} img/s  peak {podium.peak_gib:.2f} GiB  "
            f"= {result['ratio']:.0%} of the limit; epoch of {podium.extra['epoch_images']:,} "
            f"images: {podium.extra['epoch_loop_seconds']:.2f}s loop, "
            f"{podium.extra['epoch_wall_seconds']:.2f}s wall",
            flush=True,
        )
        if device.type == "cpu" and cfg.data.num_workers == 0:
            # one process does everything: CPU seconds count its work whatever shares the cores
            print(
                f"  per CPU-second of this process: limit {limit.cpu_rate:,.1f}, podium epoch "
                f"{podium.cpu_rate:,.1f} img/s = {result['cpu_ratio']:.0%} "
                "(validation and checkpoints included)",
                flush=True,
            )
        if args.ddp:
            ddp = phases["podium_ddp"] = podium_fit_ddp(cfg, task, rows, valid, device, memory)
            result["ddp_ratio"] = ddp.rate / podium.rate
            print(
                f"  ddp N=1  {ddp.rate:>9,.0f} img/s  peak {ddp.peak_gib:.2f} GiB  "
                f"= {result['ddp_ratio']:.0%} of podium without DDP",
                flush=True,
            )
    if "infer" in args.phases:
        model = build_model(cfg, task.num_outputs, device, seed=0)
        n_infer = min(args.infer_images, len(images))
        infer_steps = max(1, n_infer // cfg.infer.batch_size)
        ilimit = phases["infer_limit"] = inference_limit(
            model, cfg, task.num_outputs, device, precision, infer_steps, memory
        )
        # oof/infer read the decode cache itself (a memmap), not an in-memory copy
        infer = phases["infer"] = inference_podium(
            model, cfg, exp.train_images[:n_infer], device, precision, memory
        )
        result["infer_ratio"] = infer.rate / ilimit.rate
        views = len(cfg.infer.tta)
        print(
            f"  infer    {infer.rate:>9,.0f} img/s per view ({views} views: "
            f"{','.join(cfg.infer.tta)})  limit {ilimit.rate:,.0f}  = {result['infer_ratio']:.0%}; "
            f"{infer.seconds / views:.2f}s per view for {n_infer:,} images  "
            f"peak {infer.peak_gib:.2f} GiB",
            flush=True,
        )
    for key, phase in phases.items():
        result[key] = {**asdict(phase), "images_per_second": phase.rate}
    return result


def print_table(results: list[dict]) -> None:
    """One line per model; a phase left out shows '-'."""

    def rate(r: dict, key: str) -> str:
        return f"{r[key]['images_per_second']:,.0f}" if key in r else "-"

    def share(r: dict, key: str) -> str:
        return f"{r[key]:.0%}" if key in r else "-"

    print(
        f"\n{'model':<22}{'compile':>8}{'limit':>10}{'podium':>10}{'ratio':>7}{'loader':>10}"
        f"{'epoch s':>9}{'infer/view':>12}{'ratio':>7}"
    )
    for r in results:
        epoch = f"{r['podium']['extra']['epoch_wall_seconds']:.2f}" if "podium" in r else "-"
        print(
            f"{r['model']:<22}{'yes' if r['compile'] else 'no':>8}{rate(r, 'limit'):>10}"
            f"{rate(r, 'podium'):>10}{share(r, 'ratio'):>7}{rate(r, 'loader'):>10}{epoch:>9}"
            f"{rate(r, 'infer'):>12}{share(r, 'infer_ratio'):>7}"
        )
    print(
        "(img/s; 'epoch s' = wall time of one measured epoch, loader, validation and checkpoints "
        "included)"
    )


# ---- the command -----------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1 ...")
    p.add_argument(
        "--models",
        nargs="+",
        help="name@size[:batch] (default: CUDA: resnet50@224:128 efficientnet_b0@224:128 resnet18@64:512; CPU: resnet18@64:64)",
    )
    p.add_argument(
        "--batch", type=int, help="batch of models named without one (default: CUDA 128; CPU 64)"
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
    p.add_argument(
        "--phases",
        default=",".join(PHASES),
        help="comma-separated phases besides the limit: loader, podium, infer (default: all)",
    )
    p.add_argument("--json", type=Path, help="also write the figures here")
    args = p.parse_args(argv)
    args.tta = [v for v in args.tta.split(",") if v]
    args.phases = [v for v in args.phases.split(",") if v]
    unknown = sorted(set(args.phases) - set(PHASES))
    if unknown:
        p.error(f"--phases: unknown {', '.join(unknown)} (choose from {', '.join(PHASES)})")
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
    default_batch = args.batch or (128 if cuda else 64)
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
    print_table(results)
    if args.json:
        settings = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
        write_json(
            args.json,
            {"device": str(device), "where": where, "settings": settings, "results": results},
        )
    return results


if __name__ == "__main__":
    main()
