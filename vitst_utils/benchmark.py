"""Training-step throughput and memory, measured side by side in one process.

    python -m vitst_utils.benchmark --preset seed --steps 20            # fp32 vs fp16 on a GPU
    python -m vitst_utils.benchmark --preset smoke --steps 10           # CPU sanity check

Random weights and random inputs (the speed does not depend on them), the same step as
`train`: forward, VGG losses, backward, AdamW. Report the ratios; absolute numbers only with
the device they came from (printed in the first line).
"""

from __future__ import annotations

import argparse
import resource
import sys
import time

import torch

from .config import PRESETS, TrainConfig, get_preset
from .env import describe_hardware
from .model import build_model


def measure(cfg: TrainConfig, amp: bool, steps: int, warmup: int = 2) -> dict[str, float]:
    """images/s and peak memory of `steps` timed training steps on one device."""
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    amp = amp and device.type == "cuda"
    torch.manual_seed(0)
    model = build_model(cfg.replace(pretrained=False), use_weights=False).to(device).train()
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=cfg.lr)
    scaler = torch.amp.GradScaler("cuda", enabled=amp)
    s = cfg.image_size
    content = torch.randn(cfg.batch_size, 3, s, s, device=device)
    style = torch.randn(cfg.batch_size, 3, s, s, device=device)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=torch.float16, enabled=amp):
            gen = model(content, style)
            c, st = model.calculate_loss(gen, content, style)
        scaler.scale(cfg.lambda_content * c + cfg.lambda_style * st).backward()
        scaler.step(opt)
        scaler.update()

    for _ in range(warmup):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # process RSS, MiB
    seconds = time.perf_counter() - t0
    return {
        "images_per_s": steps * cfg.batch_size / seconds,
        "s_per_step": seconds / steps,
        "peak_mib": peak,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m vitst_utils.benchmark",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--preset", default="seed", choices=sorted(PRESETS))
    p.add_argument("--batch-size", type=int, help="default: the preset's")
    p.add_argument("--steps", type=int, default=10)
    args = p.parse_args(argv)
    cfg = get_preset(args.preset)
    if args.batch_size:
        cfg = cfg.replace(batch_size=args.batch_size)
    print(
        f"{describe_hardware()} | preset {cfg.preset} | batch {cfg.batch_size} | "
        f"{cfg.image_size}px | {args.steps} steps, single device"
    )
    modes = [("fp32", False)] + ([("fp16 amp", True)] if torch.cuda.is_available() else [])
    results = {}
    for name, amp in modes:
        results[name] = r = measure(cfg, amp, args.steps)
        print(
            f"{name:>9}: {r['images_per_s']:8.2f} img/s | {r['s_per_step']:.3f} s/step | "
            f"peak {r['peak_mib']:.0f} MiB"
        )
    if len(results) == 2:
        ratio = results["fp16 amp"]["images_per_s"] / results["fp32"]["images_per_s"]
        print(f"fp16/fp32 speed-up: {ratio:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
