"""Speed and memory, measured side by side in one process on one device.

    python -m vitst_utils.benchmark --preset seed --baseline --steps 20      # on a GPU
    python -m vitst_utils.benchmark --preset seed --baseline --batch-size 2 --steps 3   # CPU

The training step timed is `step.Trainer.step`, the one the loop runs: forward, every loss of
the preset, backward, the generator's and the discriminator's updates. With `--baseline` the
same architecture also runs the seed's way (fp32, separate encoder and VGG passes, no speed
lever), and the ratio is printed. Random weights and inputs: the speed does not depend on them.
FLOPs come from `torch.utils.flop_counter.FlopCounterMode`; MFU divides the achieved FLOP/s by
the card's peak (fp16 tensor-core peak with AMP, fp32 otherwise) where the card is known.
Then the data loader (decode + augment, the preset's workers, against the shared image cache
of `cache_images`) and inference (one photo with a prototype against the seed's way). Report
ratios; absolute numbers only with the device of the first line.

Three tables for stylising and feeding, each measured side by side in one run (`--tables`):

    python -m vitst_utils.benchmark --preset anime --tables sizes cpu loader --skip-training

- `sizes`: one 4:3 photo at short sides 224, 512, 1024 and 4032 x 3024 (12 MP) through the
  windowed path (`tiling.py`, the default inference path of this CPU) and, up to
  `--direct-upto`, the whole-photo pass; seconds, peak RSS, and at 512 the windowed result's
  `structure` (SSIM of luma, `temporal.ssim_luma`) and crispness (`metrics.crispness`)
  against the direct one.
- `cpu`: every CPU path of `cpu_paths.py` at 224 (a 4:3 photo, median of `--repeats`) and 1024,
  speed against fp32 eager, and each one's difference from fp32 on synthetic photo faces of
  several sizes (PSNR, structure, crispness ratio).
- `loader`: the training loader at the preset's size, decode path vs the shared cache, in
  img/s per rank (per GPU on Kaggle), next to the training step's img/s, and which bounds.

The training step and the loader are measured here; the stylising tables and the inference
timing in `benchmark_stylize.py` (random weights made lively, or a real checkpoint with
`--checkpoint`).
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader
from torch.utils.flop_counter import FlopCounterMode

from .benchmark_stylize import (
    format_cpu_paths,
    format_inference,
    format_sizes,
    inference_model,
    machine_name,
    measure_cpu_paths,
    measure_inference,
    measure_sizes,
)
from .config import TrainConfig
from .cpu_paths import CPU_PATHS, default_cpu_path, inference_path
from .data import build_datasets, gpu_augment
from .dataroot import resolve_data_root
from .env import describe_hardware
from .imagecache import SharedImageCache, build_cache
from .model import build_model
from .presets import PRESETS, get_preset
from .step import build_trainer

# Dense peak TFLOP/s (fp16 tensor cores with fp32 accumulation, fp32) from NVIDIA's data sheets,
# matched against torch.cuda.get_device_name().
# H100/H200: the SXM parts.
PEAK_TFLOPS = {
    "T4": (65.0, 8.1),
    "L4": (121.0, 30.3),
    "P100": (18.7, 9.3),
    "A100": (312.0, 19.5),
    "H100": (989.0, 67.0),
    "H200": (989.0, 67.0),
}

# The speed levers (TrainConfig fields): all on for the fast path, all off for the seed's way.
LEVERS = ("amp", "batched_passes", "channels_last", "fused_adam", "cudnn_benchmark")


def peak_tflops(device: torch.device, amp: bool) -> float | None:
    """The card's peak for this precision, or None when the card is not in the table."""
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    for key, (fp16, fp32) in PEAK_TFLOPS.items():
        if re.search(rf"\b{key}\b", name):  # "Tesla T4", "NVIDIA A100-SXM4-40GB"; not "L40S"
            return fp16 if amp else fp32
    return None


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure_training(
    cfg: TrainConfig, steps: int, device: torch.device, warmup: int = 2
) -> dict[str, Any]:
    """images/s, s/step, peak memory, FLOPs/step and MFU of `Trainer.step` under `cfg`."""
    amp = cfg.amp and device.type == "cuda"
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = cfg.cudnn_benchmark
    torch.manual_seed(0)
    model = build_model(cfg.replace(pretrained=False), use_weights=False).to(device)
    trainer = build_trainer(cfg, model, device, "single", amp, total_steps=steps + warmup + 1)
    s = cfg.image_size
    content = torch.randn(cfg.batch_size, 3, s, s, device=device)
    style = torch.randn(cfg.batch_size, 3, s, s, device=device)
    for _ in range(warmup):
        trainer.step(content, style)
    with FlopCounterMode(display=False) as counter:
        trainer.step(content, style)
    flops = counter.get_total_flops()
    _sync(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        trainer.step(content, style)
    _sync(device)
    seconds = (time.perf_counter() - t0) / steps
    if device.type == "cuda":
        peak_mib = torch.cuda.max_memory_allocated(device) / 2**20
    else:
        peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # process, so far
    peak = peak_tflops(device, amp)
    del trainer, model
    return {
        "images_per_s": cfg.batch_size / seconds,
        "s_per_step": seconds,
        "peak_mib": peak_mib,
        "gflop_per_step": flops / 1e9,
        "tflop_per_s": flops / seconds / 1e12,
        "mfu": flops / seconds / 1e12 / peak if peak else None,
        "precision": "fp16 amp" if amp else "fp32",
    }


def measure_loader(cfg: TrainConfig, batches: int = 30) -> dict[str, Any]:
    """The training loader at the preset's size, per rank: decode + augment with
    `cfg.num_workers` workers, against the shared cache (a uint8 slice per image, no workers);
    the cache's flips and normalisation run where the model runs and are timed apart (on a
    GPU they are a few kernels; on a CPU they share the cores with everything else)."""
    run_dir = Path(tempfile.mkdtemp(prefix="vitst-bench-"))
    cfg = cfg.replace(train_limit=min(cfg.train_limit or 64, 64), val_limit=4)  # enough to time
    root, synthetic = resolve_data_root(cfg.replace(synthetic_data=True), run_dir)
    ds = build_datasets(cfg, root)["content_train"]
    path = build_cache(ds.files, cfg.image_size, run_dir / "cache", "bench", progress=False)
    out: dict[str, Any] = {"data": "synthetic" if synthetic else str(root), "images": len(ds)}
    bs = min(cfg.batch_size, len(ds))
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    for name, dataset, workers in (
        ("decode", ds, cfg.num_workers),
        ("shared_cache", SharedImageCache(ds, cfg.image_size, path), 0),
    ):
        loader = DataLoader(
            dataset,
            bs,
            shuffle=True,
            drop_last=True,
            num_workers=workers,
            persistent_workers=workers > 0,
        )
        n, t0, aug = -2, time.perf_counter(), 0.0  # two batches of warm-up
        while n < batches:
            for batch in loader:
                if n == 0:
                    _sync(device)
                    t0, aug = time.perf_counter(), 0.0
                batch = batch.to(device)
                if batch.dtype == torch.uint8:
                    a0 = time.perf_counter()
                    gpu_augment(batch)
                    _sync(device)
                    aug += time.perf_counter() - a0
                n += 1
                if n >= batches:
                    break
        _sync(device)
        seconds = time.perf_counter() - t0
        out[f"{name}_images_per_s"] = n * bs / (seconds - aug)
        if aug:
            out["device_augment_images_per_s"] = n * bs / aug
    return out


def _device_name() -> str:
    return "the GPU" if torch.cuda.is_available() else "the CPU"


def format_loader(cfg: TrainConfig, r: dict[str, Any], step: float | None) -> str:
    """The loader line: decode vs cache per rank, the step beside them, and which bounds."""
    text = (
        f"loader per rank at {cfg.image_size} px ({r['data']} data): decode + augment with "
        f"{cfg.num_workers} workers {r['decode_images_per_s']:.0f} img/s | shared cache "
        f"{r['shared_cache_images_per_s']:.0f} img/s (+ flip/normalise on {_device_name()}: "
        f"{r['device_augment_images_per_s']:.0f} img/s)"
    )
    if step is None:
        return text + " | training step not measured (--skip-training)"
    best = max(r["decode_images_per_s"], r["shared_cache_images_per_s"])
    bound = "the loader" if best < step else "the step"
    decode = "the loader" if r["decode_images_per_s"] < step else "the step"
    return (
        f"{text} | training step {step:.1f} img/s per device: with the cache {bound} bounds "
        f"the run, decoding {decode} does"
    )


def _line(name: str, r: dict[str, Any]) -> str:
    mfu = f"{r['mfu']:.1%}" if r["mfu"] is not None else "n/a"
    return (
        f"{name:>10}: {r['images_per_s']:8.2f} img/s | {r['s_per_step']:.3f} s/step | "
        f"peak {r['peak_mib']:.0f} MiB | {r['gflop_per_step']:.0f} GFLOP/step | "
        f"{r['tflop_per_s']:.2f} TFLOP/s | MFU {mfu} ({r['precision']})"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m vitst_utils.benchmark",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--preset", default="seed", choices=sorted(PRESETS))
    p.add_argument("--baseline", action="store_true", help="also time the seed's way; ratio")
    p.add_argument("--batch-size", type=int, help="default: the preset's")
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--compile", action="store_true", help="the fast path with torch.compile")
    p.add_argument("--skip", nargs="*", default=[], choices=["loader", "inference"])
    p.add_argument("--skip-training", action="store_true", help="no training-step timing")
    p.add_argument(
        "--tables",
        nargs="*",
        default=[],
        choices=["sizes", "cpu", "loader"],
        help="stylising sizes x time x memory; CPU paths x speed x PSNR; loader vs step",
    )
    p.add_argument(
        "--sizes", nargs="+", type=int, default=[224, 512, 1024, 3024], help="short sides"
    )
    p.add_argument("--direct-upto", type=int, default=512, help="whole-photo pass up to this")
    p.add_argument("--paths", nargs="+", default=list(CPU_PATHS), choices=CPU_PATHS)
    p.add_argument("--repeats", type=int, default=5, help="runs per CPU path at 224 (median)")
    p.add_argument("--checkpoint", help="stylising tables with this model (default: random)")
    p.add_argument("--json", type=Path, help="write every number to this file")
    args = p.parse_args(argv)
    if args.steps < 1:
        p.error("--steps must be >= 1")
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    cfg = get_preset(args.preset, pretrained=False)
    if args.batch_size:
        cfg = cfg.replace(batch_size=args.batch_size)
    fast = cfg.replace(compile=args.compile, **dict.fromkeys(LEVERS, True))
    print(
        f"{machine_name()} | preset {cfg.preset} | batch {cfg.batch_size} | "
        f"{cfg.image_size}px | {args.steps} steps on one device"
    )
    results: dict[str, Any] = {"device": describe_hardware(), "machine": machine_name()}
    results["preset"] = cfg.preset
    if not args.skip_training:
        results["fast"] = measure_training(fast, args.steps, device)
        print(_line("fast path", results["fast"]))
    if args.baseline and not args.skip_training:
        seed_way = cfg.replace(compile=False, **dict.fromkeys(LEVERS, False))
        results["seed_way"] = measure_training(seed_way, args.steps, device)
        print(_line("seed's way", results["seed_way"]))
        ratio = results["fast"]["images_per_s"] / results["seed_way"]["images_per_s"]
        results["speedup"] = ratio
        print(f"fast path / seed's way: {ratio:.2f}x")
    if "loader" in args.tables or ("loader" not in args.skip and not args.tables):
        results["loader"] = r = measure_loader(cfg)
        print(format_loader(cfg, r, results["fast"]["images_per_s"] if "fast" in results else None))
    if "inference" not in args.skip and not args.tables:
        model = build_model(cfg, use_weights=False)
        for dev in ["cpu"] + (["cuda"] if device.type == "cuda" else []):
            results[f"inference_{dev}"] = r = measure_inference(model, 224, dev)
            print(format_inference(r))
    _tables(args, cfg, results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str) + "\n")
    return 0


def _tables(args: argparse.Namespace, cfg: TrainConfig, results: dict[str, Any]) -> None:
    """The stylising tables asked for with --tables, printed as they complete."""
    if not {"sizes", "cpu"} & set(args.tables):
        return
    model, target = inference_model(cfg, args.checkpoint)
    weights = args.checkpoint or "random weights, lively_weights"
    if "cpu" in args.tables:
        print(f"CPU paths ({cfg.preset} architecture, {weights}; {machine_name()}):")
        rows = measure_cpu_paths(model, target, args.paths, args.repeats)
        results["cpu_paths"] = rows
        print(format_cpu_paths(rows, default=default_cpu_path(model)), flush=True)
    if "sizes" in args.tables:
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        path = "cuda-fp16" if device.type == "cuda" else default_cpu_path(model)
        model = model.to(device)
        model.inference_path = inference_path(model, path)
        print(f"sizes ({cfg.preset} architecture, {weights}; {machine_name()}):")
        rows = measure_sizes(
            model,
            target,
            args.sizes,
            args.direct_upto,
            report=lambda r: print(f"  {r['size']}: {r['seconds']:.1f} s", flush=True),
        )
        results["sizes"] = rows
        print(format_sizes(rows, path), flush=True)


if __name__ == "__main__":
    sys.exit(main())
