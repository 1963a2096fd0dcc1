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
  `structure` (SSIM of luminance) and crispness against the direct one.
- `cpu`: every CPU path of `cpu_paths.py` at 224 (a 4:3 photo, median of `--repeats`) and 1024,
  speed against fp32 eager, and each one's difference from fp32 on synthetic photo faces of
  several sizes (PSNR, structure, crispness ratio).
- `loader`: the training loader at the preset's size, decode path vs the shared cache, in
  img/s per rank (per GPU on Kaggle), next to the training step's img/s, and which bounds.

Random weights, made lively for the picture comparisons (`lively_weights`: each decoder conv
scaled to unit output std, so outputs have contrast and edges, as a trained net's do), or a
real checkpoint with `--checkpoint`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader
from torch.utils.flop_counter import FlopCounterMode

from .config import PRESETS, TrainConfig, get_preset
from .cpu_paths import CPU_PATHS, cpu_bf16_support, default_cpu_path, inference_path
from .data import build_datasets, gpu_augment, resolve_data_root
from .env import describe_hardware
from .function import (
    adaptive_instance_normalization,
    calc_mean_std,
    fp16_on_cuda,
    normalize,
    to_pixels,
)
from .imagecache import SharedImageCache, build_cache
from .model import ViTStyleTransfer, build_model
from .sample_data import draw_anime_face, draw_photo_face
from .step import build_trainer
from .stylize import prepare_for_inference, transfer
from .tiling import DIRECT, Tiling, restyle, tile_crispness, tile_structure

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


# --- stylising: sizes and CPU paths --------------------------------------------------------------
def machine_name() -> str:
    """The CPU model, its cores and bf16 support, and the GPUs: the line every table names."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    bf16 = cpu_bf16_support() or "no fast bf16"
    threads = torch.get_num_threads()
    return f"{cpu}, {os.cpu_count()} cores, {threads} threads, {bf16} | {describe_hardware()}"


class PeakRSS:
    """The peak resident memory (bytes) of this process while the block runs: psutil's RSS
    sampled every 5 ms by a thread (so a short spike may be missed by a few ms)."""

    def __enter__(self) -> PeakRSS:
        import psutil

        proc, self.peak, self._stop = psutil.Process(), 0, threading.Event()

        def sample() -> None:
            while not self._stop.is_set():
                self.peak = max(self.peak, proc.memory_info().rss)
                time.sleep(0.005)

        self.peak = proc.memory_info().rss
        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()


def photo(width: int, height: int, seed: int = 0) -> torch.Tensor:
    """A synthetic photo face (`sample_data.draw_photo_face`) as a normalised (1, 3, h, w)."""
    from PIL import Image

    face = draw_photo_face(np.random.default_rng(seed), height)
    face = face.resize((width, height), Image.BILINEAR)
    x = torch.from_numpy(np.asarray(face, dtype=np.float32) / 255).permute(2, 0, 1)
    return normalize(x).unsqueeze(0)


def style_stats(model: nn.Module, n: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    """AdaIN target statistics (1, C, 1, 1) of `n` synthetic anime faces: a stand-in prototype."""
    s = model.image_size
    images = [draw_anime_face(np.random.default_rng(i), s).resize((s, s)) for i in range(n)]
    x = torch.stack([torch.from_numpy(np.asarray(im, dtype=np.float32) / 255) for im in images])
    with torch.no_grad():
        mean, std = calc_mean_std(model.encode(normalize(x.permute(0, 3, 1, 2))).float())
    return mean.mean(0, keepdim=True), std.mean(0, keepdim=True)


@torch.no_grad()
def lively_weights(model: nn.Module, photos: torch.Tensor, mean: torch.Tensor, std: torch.Tensor):
    """Random decoder weights with contrast: each convolution of `fuse` + `decoder`, in order,
    scaled to unit output std on `photos` (LSUV, Mishkin & Matas 2016, "All you need is a good
    init"). Default-initialised random decoders give near-flat pictures, on which every
    precision and tiling looks perfect; these give edges and colour, as trained ones do."""
    feat = restyle(model.encode(photos).float(), mean, std, 1.0)
    convs = [
        m
        for m in [*model.fuse.modules(), *model.decoder.modules()]
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))
    ]
    for conv in convs:
        seen: dict[str, torch.Tensor] = {}
        hook = conv.register_forward_hook(lambda m, i, o, seen=seen: seen.setdefault("y", o))
        model.decode(feat)
        hook.remove()
        conv.weight.div_(seen["y"].std() + 1e-8)
        if conv.bias is not None:
            conv.bias.zero_()
    return model


def _pixels(x: torch.Tensor) -> torch.Tensor:
    return to_pixels(x.float()).clamp(0, 1)


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """PSNR in dB of two normalised images, as [0, 1] pixels (inf when equal)."""
    mse = float((_pixels(a) - _pixels(b)).pow(2).mean())
    return float("inf") if mse == 0 else 10 * float(np.log10(1 / mse))


def _run(model: nn.Module, x: torch.Tensor, mean, std, tiling: Tiling | None = None):
    t0 = time.perf_counter()
    with torch.inference_mode():
        out = transfer(model, x, mean, std, 1.0, tiling)
    return time.perf_counter() - t0, out


def _windows(model: nn.Module, h: int, w: int, tiling: Tiling) -> int:
    from .tiling import window_starts

    p, win = model.patch_size, (tiling.window or model.image_size) // model.patch_size
    gh, gw = -(-h // p), -(-w // p)
    if gh * gw <= tiling.direct_tokens * win * win:
        return 1
    return len(window_starts(gh, win, tiling.overlap)) * len(window_starts(gw, win, tiling.overlap))


def measure_sizes(
    model: nn.Module,
    mean: torch.Tensor,
    std: torch.Tensor,
    sides: Sequence[int] = (224, 512, 1024, 3024),
    direct_upto: int = 512,
    compare_at: int = 512,
    report: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """One 4:3 photo per short side (3024: the 12 MP 4032 x 3024) through `transfer` (windowed,
    on the model's inference path) and, up to `direct_upto`, the whole-photo pass (`DIRECT`):
    seconds and peak RSS; at `compare_at`, structure and crispness of windowed vs direct."""
    rows = []
    tiling = Tiling()
    s = model.image_size
    _run(model, photo(s + s // 2, s + s // 2), mean, std)  # warm-up: windows and tiles, once
    for side in sides:
        w = round(side * 4 / 3)
        x = photo(w, side, seed=side)
        cpu0 = time.process_time()
        with PeakRSS() as mem:
            seconds, out = _run(model, x, mean, std)
        cpu_s = time.process_time() - cpu0
        row: dict[str, Any] = {
            "short_side": side,
            "size": f"{w}x{side}",
            "megapixels": w * side / 1e6,
            "tokens": f"{-(-side // model.patch_size)}x{-(-w // model.patch_size)}",
            "windows": _windows(model, side, w, tiling),
            "seconds": seconds,
            "cpu_seconds": cpu_s,  # all threads: / threads ~ the wall time of an idle machine
            "peak_mib": mem.peak / 2**20,
        }
        if side <= direct_upto:
            with PeakRSS() as mem:
                row["direct_seconds"], ref = _run(model, x, mean, std, DIRECT)
            row["direct_peak_mib"] = mem.peak / 2**20
            if side == compare_at:
                row["structure"] = tile_structure(_pixels(out), _pixels(ref))
                row["crispness"] = tile_crispness(_pixels(out))
                row["direct_crispness"] = tile_crispness(_pixels(ref))
                row["psnr_vs_direct"] = psnr(out, ref)
        rows.append(row)
        if report is not None:
            report(row)
        del out, x
    return rows


def format_sizes(rows: list[dict[str, Any]], path: str) -> str:
    """The sizes table (markdown). CPU time / threads: what the wall time would be on an idle
    machine with these threads (a busy one stretches wall time, much less CPU time)."""
    threads = torch.get_num_threads()
    lines = [
        f"stylising one 4:3 photo, windowed (inference path {path}) vs the whole-photo pass:",
        "| short side | size | tokens | windows | windowed | CPU time / threads | peak RSS | "
        "whole photo | peak RSS |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        direct = (
            f"{r['direct_seconds']:.1f} s | {r['direct_peak_mib'] / 1024:.2f} GB"
            if "direct_seconds" in r
            else "not run | "
        )
        lines.append(
            f"| {r['short_side']} | {r['size']} ({r['megapixels']:.1f} MP) | {r['tokens']} | "
            f"{r['windows']} | {r['seconds']:.1f} s | {r['cpu_seconds'] / threads:.1f} s | "
            f"{r['peak_mib'] / 1024:.2f} GB | {direct} |"
        )
    for r in rows:
        if "structure" in r:
            lines.append(
                f"at {r['short_side']}: windowed vs whole photo: structure (SSIM of luma) "
                f"{r['structure']:.4f}, PSNR {r['psnr_vs_direct']:.1f} dB, crispness (mean Sobel) "
                f"{r['crispness']:.4f} vs {r['direct_crispness']:.4f} "
                f"({r['crispness'] / r['direct_crispness']:.3f}x)"
            )
    return "\n".join(lines)


def measure_cpu_paths(
    model: nn.Module,
    mean: torch.Tensor,
    std: torch.Tensor,
    paths: Sequence[str] = CPU_PATHS,
    repeats: int = 5,
    big: int = 1024,
) -> list[dict[str, Any]]:
    """Every CPU path on the same model: setup seconds (quantise, compile, export), a 4:3 photo
    at 224 (median of `repeats`, paths alternating, after one warm-up each) and at `big` (one
    run; compile warms up there first), each against fp32 eager; and the difference of its
    pictures from fp32 on photo faces at 224, 512 and `big` (worst PSNR, structure, crispness)."""
    built: dict[str, Any] = {}
    rows: dict[str, dict[str, Any]] = {}
    for name in paths:
        t0 = time.perf_counter()
        try:
            built[name] = inference_path(model, name)
            rows[name] = {"path": name, "setup_s": time.perf_counter() - t0}
        except (ValueError, RuntimeError, ImportError) as e:
            rows[name] = {"path": name, "refused": str(e).split(":")[0]}
    small = photo(round(224 * 4 / 3), 224, seed=1)
    quality = [small, photo(512, 512, seed=2), photo(round(big * 4 / 3), big, seed=3)]
    outs: dict[str, list[torch.Tensor]] = {n: [] for n in built}

    def use(name: str) -> None:
        model.inference_path = built[name]

    times: dict[str, list[float]] = {n: [] for n in built}
    for name in built:  # warm-up (compile traces here)
        use(name)
        t0 = time.perf_counter()
        _run(model, small, mean, std)
        rows[name]["setup_s"] += time.perf_counter() - t0
    for _ in range(repeats):
        for name in built:
            use(name)
            times[name].append(_run(model, small, mean, std)[0])
    for name in built:
        use(name)
        rows[name]["s_224"] = statistics.median(times[name])
        outs[name].append(_run(model, small, mean, std)[1])
        outs[name].append(_run(model, quality[1], mean, std)[1])
        if name == "compile":
            t0 = time.perf_counter()
            _run(model, quality[2], mean, std)
            rows[name]["setup_s"] += time.perf_counter() - t0
        rows[name]["s_big"], out = _run(model, quality[2], mean, std)
        outs[name].append(out)
    model.inference_path = None
    ref = outs.get("fp32")
    for name in built:
        r = rows[name]
        if ref is not None:
            r["x_224"] = rows["fp32"]["s_224"] / r["s_224"]
            r["x_big"] = rows["fp32"]["s_big"] / r["s_big"]
            pairs = list(zip(outs[name], ref, strict=True))
            r["psnr_db"] = min(psnr(a, b) for a, b in pairs)
            r["structure"] = min(tile_structure(_pixels(a), _pixels(b)) for a, b in pairs)
            r["crispness"] = statistics.mean(
                tile_crispness(_pixels(a)) / tile_crispness(_pixels(b)) for a, b in pairs
            )
    return list(rows.values())


def pick_cpu_path(rows: list[dict[str, Any]], min_psnr: float = 40.0) -> str:
    """The fastest path at `big` whose worst PSNR against fp32 is at least `min_psnr`."""
    ok = [r for r in rows if "s_big" in r and r.get("psnr_db", 0) >= min_psnr]
    return min(ok, key=lambda r: r["s_big"] + r["s_224"])["path"] if ok else "fp32"


def format_cpu_paths(rows: list[dict[str, Any]], big: int = 1024) -> str:
    """The CPU paths table (markdown) and the pick."""
    lines = [
        f"| path | setup | 224 px (4:3) | vs fp32 | {big} px (4:3) | vs fp32 | PSNR vs fp32 "
        "(worst) | structure | crispness |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        if "refused" in r:
            lines.append(f"| {r['path']} | refused: {r['refused']} |  |  |  |  |  |  |  |")
            continue
        lines.append(
            f"| {r['path']} | {r['setup_s']:.1f} s | {r['s_224'] * 1000:.0f} ms | "
            f"{r.get('x_224', 1):.2f}x | {r['s_big']:.1f} s | {r.get('x_big', 1):.2f}x | "
            f"{r.get('psnr_db', float('nan')):.1f} dB | {r.get('structure', float('nan')):.4f} | "
            f"{r.get('crispness', float('nan')):.3f}x |"
        )
    lines.append(
        f"fastest with PSNR >= 40 dB: {pick_cpu_path(rows)}; the default here is "
        f"{default_cpu_path()} (cpu_paths.DEFAULT_CPU_PATH)"
    )
    return "\n".join(lines)


def _inference_model(cfg: TrainConfig, checkpoint: str | None) -> tuple[nn.Module, Any, Any]:
    """(model, mean, std): a checkpoint's model and prototype, or random lively weights and the
    statistics of synthetic anime faces."""
    if checkpoint:
        from .stylize import load_for_inference, target_from_prototype

        model, _, proto = load_for_inference(checkpoint, "cpu", cpu_path=None)
        if proto is not None:
            t = target_from_prototype(proto)
            return model, t.mean, t.std
        return model, *style_stats(model)
    torch.manual_seed(0)
    model = build_model(cfg, use_weights=False).eval().requires_grad_(False)
    mean, std = style_stats(model)
    lively_weights(model, photo(224, 224, seed=9), mean, std)
    return model, mean, std


@torch.inference_mode()
def measure_inference(
    model: ViTStyleTransfer,
    image_size: int = 224,
    device: str | torch.device | None = None,
    repeats: int = 10,
    warmup: int = 2,
) -> dict[str, Any]:
    """Seconds to stylise one photo at `image_size` with a prototype (one encoder pass) against
    the seed's way (content and style both encoded every call), timed alternately in one
    process so both see the same machine load; medians. fp16 autocast on CUDA (as the CLI),
    fp32 on the CPU. The model is moved to `device` (default: where it is) and prepared as the
    CLI prepares it (`prepare_for_inference`); both ways run that same model."""
    dev = torch.device(device) if device is not None else next(model.parameters()).device
    model = prepare_for_inference(model.to(dev))
    gen = torch.Generator().manual_seed(0)
    content = torch.randn(1, 3, image_size, image_size, generator=gen).to(dev)
    style = torch.randn(1, 3, image_size, image_size, generator=gen).to(dev)
    with fp16_on_cuda(dev):
        mean, std = calc_mean_std(model.encode(style).float())

    def prototype_way() -> torch.Tensor:
        return transfer(model, content, mean, std)

    def seed_way() -> torch.Tensor:
        c, s = model.encode(content), model.encode(style)
        return model.decode(adaptive_instance_normalization(c, s))

    def timed(fn: Callable[[], torch.Tensor]) -> float:
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        t0 = time.perf_counter()
        with fp16_on_cuda(dev):
            fn()
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        return time.perf_counter() - t0

    for _ in range(warmup):
        timed(prototype_way)
        timed(seed_way)
    proto_s, seed_s = [], []
    for _ in range(repeats):
        proto_s.append(timed(prototype_way))
        seed_s.append(timed(seed_way))
    p, s = statistics.median(proto_s), statistics.median(seed_s)
    return {
        "device": str(dev),
        "image_size": image_size,
        "repeats": repeats,
        "precision": "fp16 autocast" if dev.type == "cuda" else "fp32",
        "prototype_s": p,
        "seed_way_s": s,
        "speedup": s / p,
    }


def format_inference(result: dict[str, Any]) -> str:
    """One line for a `measure_inference` result."""
    r = result
    return (
        f"inference {r['image_size']}px on {r['device']} ({r['precision']}): prototype "
        f"{r['prototype_s'] * 1000:.0f} ms/photo vs the seed's way (both encoded) "
        f"{r['seed_way_s'] * 1000:.0f} ms/photo: {r['speedup']:.2f}x"
    )


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
    model, mean, std = _inference_model(cfg, args.checkpoint)
    weights = args.checkpoint or "random weights, lively_weights"
    if "cpu" in args.tables:
        print(f"CPU paths ({cfg.preset} architecture, {weights}; {machine_name()}):")
        rows = measure_cpu_paths(model, mean, std, args.paths, args.repeats)
        results["cpu_paths"] = rows
        print(format_cpu_paths(rows), flush=True)
    if "sizes" in args.tables:
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        path = "cuda-fp16" if device.type == "cuda" else default_cpu_path()
        model = model.to(device)
        model.inference_path = inference_path(model, path)
        print(f"sizes ({cfg.preset} architecture, {weights}; {machine_name()}):")
        rows = measure_sizes(
            model,
            mean.to(device),
            std.to(device),
            args.sizes,
            args.direct_upto,
            report=lambda r: print(f"  {r['size']}: {r['seconds']:.1f} s", flush=True),
        )
        results["sizes"] = rows
        print(format_sizes(rows, path), flush=True)


if __name__ == "__main__":
    sys.exit(main())
