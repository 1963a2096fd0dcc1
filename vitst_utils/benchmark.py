"""Speed and memory, measured side by side in one process on one device.

    python -m vitst_utils.benchmark --preset seed --baseline --steps 20      # on a GPU
    python -m vitst_utils.benchmark --preset seed --baseline --batch-size 2 --steps 3   # CPU

The training step timed is `step.Trainer.step`, the one the loop runs: forward, every loss of
the preset, backward, the generator's and the discriminator's updates. With `--baseline` the
same architecture also runs the seed's way (fp32, separate encoder and VGG passes, no speed
lever), and the ratio is printed. Random weights and inputs: the speed does not depend on them.
FLOPs come from `torch.utils.flop_counter.FlopCounterMode`; MFU divides the achieved FLOP/s by
the card's peak (fp16 tensor-core peak with AMP, fp32 otherwise) where the card is known.
Then the data loader (decode + augment, the preset's workers; and with `cache_images`) and
inference (one photo with a prototype against the seed's way). Report ratios; absolute numbers
only with the device of the first line.
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

from .config import PRESETS, TrainConfig, get_preset
from .data import CachedImages, build_datasets, gpu_augment, resolve_data_root
from .env import describe_hardware
from .inference import format_inference, measure_inference
from .model import build_model
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


def measure_loader(cfg: TrainConfig, batches: int = 10) -> dict[str, Any]:
    """Training-loader images/s (decode + augment, `cfg.num_workers` workers), and the same
    from memory (`cache_images`: crops on the CPU, flip and normalise where the model runs)."""
    run_dir = Path(tempfile.mkdtemp(prefix="vitst-bench-"))
    root, synthetic = resolve_data_root(cfg.replace(synthetic_data=True), run_dir)
    ds = build_datasets(cfg, root)["content_train"]
    out: dict[str, Any] = {"data": "synthetic" if synthetic else str(root), "images": len(ds)}
    bs = min(cfg.batch_size, len(ds))
    for name, dataset, workers in (
        ("loader", ds, cfg.num_workers),
        ("cached", CachedImages(ds, cfg.image_size), 0),
    ):
        loader = DataLoader(dataset, bs, shuffle=True, drop_last=True, num_workers=workers)
        n, t0 = 0, time.perf_counter()
        while n < batches:
            for batch in loader:
                if batch.dtype == torch.uint8:
                    gpu_augment(batch)
                n += 1
                if n >= batches:
                    break
        out[f"{name}_images_per_s"] = n * bs / (time.perf_counter() - t0)
    return out


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
        f"{describe_hardware()} | preset {cfg.preset} | batch {cfg.batch_size} | "
        f"{cfg.image_size}px | {args.steps} steps on one device"
    )
    results: dict[str, Any] = {"device": describe_hardware(), "preset": cfg.preset}
    results["fast"] = measure_training(fast, args.steps, device)
    print(_line("fast path", results["fast"]))
    if args.baseline:
        seed_way = cfg.replace(compile=False, **dict.fromkeys(LEVERS, False))
        results["seed_way"] = measure_training(seed_way, args.steps, device)
        print(_line("seed's way", results["seed_way"]))
        ratio = results["fast"]["images_per_s"] / results["seed_way"]["images_per_s"]
        results["speedup"] = ratio
        print(f"fast path / seed's way: {ratio:.2f}x")
    if "loader" not in args.skip:
        results["loader"] = r = measure_loader(cfg)
        print(
            f"loader ({r['data']} data, {cfg.num_workers} workers): "
            f"{r['loader_images_per_s']:.0f} img/s decode+augment | "
            f"{r['cached_images_per_s']:.0f} img/s from memory (cache_images)"
        )
    if "inference" not in args.skip:
        model = build_model(cfg, use_weights=False, loss_net=False)
        for dev in ["cpu"] + (["cuda"] if device.type == "cuda" else []):
            results[f"inference_{dev}"] = r = measure_inference(model, 224, dev)
            print(format_inference(r))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
