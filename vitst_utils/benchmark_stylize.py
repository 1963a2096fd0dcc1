"""Stylising speed and memory, measured side by side in one process (`python -m
vitst_utils.benchmark`, which prints these tables; README "Speed").

- `measure_inference`: one photo with a prototype against the seed's way (both encoded).
- `measure_sizes`: one 4:3 photo at growing sizes, windowed (`tiling.py`) vs the whole photo.
- `measure_cpu_paths`: every CPU path of `cpu_paths.py`, speed and difference from fp32.

Random weights, made lively for the picture comparisons (`lively_weights`: each decoder conv
scaled to unit output std, so outputs have contrast and edges, as a trained net's do), or a
real checkpoint's model.
"""

from __future__ import annotations

import os
import platform
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .config import TrainConfig
from .cpu_paths import CPU_PATHS, cpu_bf16_support, default_cpu_path, inference_path
from .env import describe_hardware
from .function import (
    adaptive_instance_normalization,
    calc_mean_std,
    fp16_on_cuda,
    normalize,
    to_pixels,
)
from .metrics import crispness
from .model import ViTStyleTransfer, build_model
from .sample_data import draw_anime_face, draw_photo_face
from .stylize import StyleTarget, prepare_for_inference, style_target, transfer
from .temporal import ssim_luma
from .tiling import DIRECT, Tiling, restyle


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


def anime_target(model: nn.Module, n: int = 4) -> StyleTarget:
    """The blend of `n` synthetic anime faces (`stylize.style_target`, equal weights): its
    AdaIN statistics (1, C, 1, 1) are their mean, a stand-in prototype (with a palette for a
    cel model)."""
    s = model.image_size
    images = [draw_anime_face(np.random.default_rng(i), s).resize((s, s)) for i in range(n)]
    return style_target(model, images, name="synthetic anime")


@torch.no_grad()
def lively_weights(model: nn.Module, photos: torch.Tensor, target: StyleTarget):
    """Random decoder weights with contrast: each convolution of `fuse` + `decoder`, in order,
    scaled to unit output std on `photos` (LSUV, Mishkin & Matas 2016, "All you need is a good
    init"). Default-initialised random decoders give near-flat pictures, on which every
    precision and tiling looks perfect; these give edges and colour, as trained ones do (a cel
    model's zero last convolution is drawn at random first)."""
    feat = restyle(model.encode(photos).float(), target.mean, target.std, 1.0)
    convs = [
        m
        for m in [*model.fuse.modules(), *model.decoder.modules()]
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))
    ]
    for conv in convs:
        if not conv.weight.any():
            nn.init.kaiming_normal_(conv.weight)
        seen: dict[str, torch.Tensor] = {}
        hook = conv.register_forward_hook(lambda m, i, o, seen=seen: seen.setdefault("y", o))
        model.decode_raw(feat)
        hook.remove()
        conv.weight.div_(seen["y"].std() + 1e-8)
        if conv.bias is not None:
            conv.bias.zero_()
    return model


def _pixels(x: torch.Tensor) -> torch.Tensor:
    return to_pixels(x.float()).clamp(0, 1)


def same_picture(a: torch.Tensor, b: torch.Tensor) -> float:
    """How alike two renderings of one photo are: SSIM of luma (`temporal.ssim_luma`, 1.0 for
    the same picture) of two (B, 3, H, W) pixel batches in [0, 1], averaged over the batch.
    Not `metrics.structure_score`: that one blurs away the fine texture on purpose (it asks
    whether a photo's layout survived stylising), so two different textures would pass."""

    def hwc(x: torch.Tensor) -> np.ndarray:
        return x.permute(1, 2, 0).float().cpu().numpy()

    return sum(ssim_luma(hwc(x), hwc(y)) for x, y in zip(a, b, strict=True)) / len(a)


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """PSNR in dB of two normalised images, as [0, 1] pixels (inf when equal)."""
    mse = float((_pixels(a) - _pixels(b)).pow(2).mean())
    return float("inf") if mse == 0 else 10 * float(np.log10(1 / mse))


def _run(model: nn.Module, x: torch.Tensor, target: StyleTarget, tiling: Tiling | None = None):
    t0 = time.perf_counter()
    with torch.inference_mode():
        out = transfer(model, x, target.mean, target.std, 1.0, tiling, cel=target.cel)
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
    target: StyleTarget,
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
    _run(model, photo(s + s // 2, s + s // 2), target)  # warm-up: windows and tiles, once
    for side in sides:
        w = round(side * 4 / 3)
        x = photo(w, side, seed=side)
        cpu0 = time.process_time()
        with PeakRSS() as mem:
            seconds, out = _run(model, x, target)
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
                row["direct_seconds"], ref = _run(model, x, target, DIRECT)
            row["direct_peak_mib"] = mem.peak / 2**20
            if side == compare_at:
                row["structure"] = same_picture(_pixels(out), _pixels(ref))
                row["crispness"] = crispness(_pixels(out))
                row["direct_crispness"] = crispness(_pixels(ref))
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
                f"{r['structure']:.4f}, PSNR {r['psnr_vs_direct']:.1f} dB, crispness "
                f"{r['crispness']:.4f} vs {r['direct_crispness']:.4f} "
                f"({r['crispness'] / r['direct_crispness']:.3f}x)"
            )
    return "\n".join(lines)


def measure_cpu_paths(
    model: nn.Module,
    target: StyleTarget,
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
        _run(model, small, target)
        rows[name]["setup_s"] += time.perf_counter() - t0
    for _ in range(repeats):
        for name in built:
            use(name)
            times[name].append(_run(model, small, target)[0])
    for name in built:
        use(name)
        rows[name]["s_224"] = statistics.median(times[name])
        outs[name].append(_run(model, small, target)[1])
        outs[name].append(_run(model, quality[1], target)[1])
        if name == "compile":
            t0 = time.perf_counter()
            _run(model, quality[2], target)
            rows[name]["setup_s"] += time.perf_counter() - t0
        rows[name]["s_big"], out = _run(model, quality[2], target)
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
            r["structure"] = min(same_picture(_pixels(a), _pixels(b)) for a, b in pairs)
            r["crispness"] = statistics.mean(
                crispness(_pixels(a)) / crispness(_pixels(b)) for a, b in pairs
            )
    return list(rows.values())


def pick_cpu_path(rows: list[dict[str, Any]], min_psnr: float = 40.0) -> str:
    """The fastest path at `big` whose worst PSNR against fp32 is at least `min_psnr`."""
    ok = [r for r in rows if "s_big" in r and r.get("psnr_db", 0) >= min_psnr]
    return min(ok, key=lambda r: r["s_big"] + r["s_224"])["path"] if ok else "fp32"


def format_cpu_paths(
    rows: list[dict[str, Any]], big: int = 1024, default: str | None = None
) -> str:
    """The CPU paths table (markdown), the pick and `default`, the path "auto" takes for the
    measured model (`cpu_paths.default_cpu_path(model)`; None: for a model that is not cel)."""
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
        f"{default or default_cpu_path()} (cpu_paths.default_cpu_path)"
    )
    return "\n".join(lines)


def inference_model(cfg: TrainConfig, checkpoint: str | None) -> tuple[nn.Module, StyleTarget]:
    """(model, target): a checkpoint's model and prototype, or random lively weights and the
    blend of synthetic anime faces (`anime_target`)."""
    if checkpoint:
        from .stylize import load_for_inference, target_from_prototype

        model, _, proto = load_for_inference(checkpoint, "cpu", cpu_path=None)
        if proto is not None:
            return model, target_from_prototype(proto)
        return model, anime_target(model)
    torch.manual_seed(0)
    model = build_model(cfg, use_weights=False).eval().requires_grad_(False)
    target = anime_target(model)
    lively_weights(model, photo(224, 224, seed=9), target)
    return model, target


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
    cel = model.cel_style(style) if model.is_cel else None

    def prototype_way() -> torch.Tensor:
        return transfer(model, content, mean, std, cel=cel)

    def seed_way() -> torch.Tensor:
        c, s = model.encode(content), model.encode(style)
        cel_s = model.cel_style(style) if model.is_cel else None
        return model.decode(adaptive_instance_normalization(c, s), content, cel_s)

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
