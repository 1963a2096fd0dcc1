"""Training: one plain loop for CPU, one GPU, DataParallel and DDP, with fp16 AMP and resume.

    python -m vitst_utils.train --preset smoke --out runs/smoke
    torchrun --nproc_per_node=2 -m vitst_utils.train --preset seed --strategy ddp --out runs/seed

A run directory holds config.json, history.csv, samples/epoch_XXX.png, checkpoints/epoch_XXX.pt
and summary.json. `--resume` continues from the newest checkpoint there.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import math
import os
import random
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler
from tqdm.auto import tqdm

from . import checkpoint as ckpt_io
from .config import PRESETS, TrainConfig, get_preset, parse_overrides
from .data import (
    ImageFolderDataset,
    build_datasets,
    file_sha256,
    first_images,
    format_skip_report,
    resolve_data_root,
)
from .env import default_run_dir, describe_hardware, gpu_count, resolve_strategy
from .model import build_model
from .plots import sample_grid, save_figure

log = logging.getLogger(__name__)

HISTORY_FIELDS = (
    "epoch",
    "total_loss",
    "content_loss",
    "style_loss",
    "skipped_steps",
    "seconds",
    "images_per_s",
)


class NonFiniteLossError(RuntimeError):
    """Too many consecutive non-finite losses: training stopped, last good checkpoint kept."""


@dataclass
class TrainResult:
    """What a run did: read back from its run directory, whichever process trained."""

    run_dir: Path
    epochs_completed: int
    stopped: str  # completed | time_budget | already_complete
    history: list[dict[str, Any]] = field(default_factory=list)
    checkpoints: list[Path] = field(default_factory=list)

    @classmethod
    def from_run_dir(cls, run_dir: str | Path) -> TrainResult:
        run_dir = Path(run_dir)
        summary = json.loads((run_dir / "summary.json").read_text())
        return cls(
            run_dir,
            summary["epochs_completed"],
            summary["stopped"],
            read_history_csv(run_dir / "history.csv"),
            [p for _, p in ckpt_io.list_checkpoints(run_dir)],
        )


# --- distributed helpers ---------------------------------------------------------------------
def _dist_env() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch_ddp(
    cfg: TrainConfig, run_dir: str | Path, resume: bool = False, nprocs: int | None = None
) -> TrainResult:
    """Start one DDP process per GPU (2 gloo processes on CPU) and train. Works from a notebook,
    because the worker lives in this module; rank 0's log lines are relayed here as they come,
    with a bar over epochs, since a notebook does not show its child processes' output."""
    import torch.multiprocessing as mp

    run_dir = Path(run_dir)
    nprocs = nprocs or gpu_count() or 2
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    os.environ["MASTER_PORT"] = str(_free_port())
    log_file = run_dir / "train.log"
    pos = log_file.stat().st_size if log_file.is_file() else 0
    ctx = mp.start_processes(
        _ddp_worker,
        args=(nprocs, cfg.to_dict(), str(run_dir), resume),
        nprocs=nprocs,
        start_method="spawn",
        join=False,
    )
    with tqdm(total=cfg.epochs, desc=f"DDP x{nprocs}", unit="epoch", leave=False) as bar:
        done = False
        while not done:
            done = ctx.join(timeout=1.0)
            if log_file.is_file():
                with open(log_file) as f:
                    f.seek(pos)
                    for line in f.read().splitlines():
                        log.info(line)
                    pos = f.tell()
            bar.n = len(read_history_csv(run_dir / "history.csv"))
            bar.refresh()
    return TrainResult.from_run_dir(run_dir)


def _ddp_worker(rank: int, world: int, cfg_dict: dict, run_dir: str, resume: bool) -> None:
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world))
    log.setLevel(logging.INFO)  # lines reach train.log, which the parent relays
    _run(TrainConfig.from_dict(cfg_dict), Path(run_dir), resume)


def _all_reduce(t: torch.Tensor, op=dist.ReduceOp.SUM) -> torch.Tensor:
    if dist.is_available() and dist.is_initialized():
        dist.all_reduce(t, op=op)
    return t


# --- files -----------------------------------------------------------------------------------
def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_history_csv(path: Path, history: list[dict[str, Any]]) -> None:
    lines = [",".join(HISTORY_FIELDS)]
    for row in history:
        lines.append(
            ",".join(
                f"{row[k]:.6g}" if isinstance(row[k], float) else str(row[k])
                for k in HISTORY_FIELDS
            )
        )
    _write_atomic(path, "\n".join(lines) + "\n")


def read_history_csv(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        return [
            {k: (int(v) if k in ("epoch", "skipped_steps") else float(v)) for k, v in r.items()}
            for r in csv.DictReader(f)
        ]


def _rng_state() -> dict[str, Any]:
    state = {"torch": torch.get_rng_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"][: torch.cuda.device_count()])


def _latest_good_checkpoint(run_dir: Path) -> dict[str, Any] | None:
    """The newest checkpoint that reads back; a broken newer file is reported and passed over."""
    for _, path in reversed(ckpt_io.list_checkpoints(run_dir)):
        try:
            state = ckpt_io.load_checkpoint(path)
            state["path"] = path
            return state
        except ckpt_io.CheckpointError as e:
            log.warning("skipping unreadable checkpoint: %s", e)
    return None


# --- the loop --------------------------------------------------------------------------------
def train(cfg: TrainConfig, run_dir: str | Path | None = None, resume: bool = False) -> TrainResult:
    """Train per `cfg` into `run_dir` (default: see env.default_run_dir); DDP is launched as
    needed. With `resume`, continue from the newest checkpoint there (or start if none)."""
    run_dir = Path(run_dir) if run_dir is not None else default_run_dir(cfg.preset)
    if resolve_strategy(cfg.strategy) == "ddp" and not _dist_env():
        return launch_ddp(cfg, run_dir, resume)
    _run(cfg, run_dir, resume)
    return TrainResult.from_run_dir(run_dir)


def _run(cfg: TrainConfig, run_dir: Path, resume: bool) -> nn.Module | None:
    """Train in this process (one DDP rank when WORLD_SIZE > 1); return the bare model."""
    distributed = _dist_env()
    cuda = torch.cuda.is_available()
    if distributed and not dist.is_initialized():
        dist.init_process_group("nccl" if cuda else "gloo")
    rank = dist.get_rank() if distributed else 0
    world = dist.get_world_size() if distributed else 1
    local_rank = int(os.environ.get("LOCAL_RANK", rank))
    main = rank == 0
    strategy = "ddp" if distributed else resolve_strategy(cfg.strategy)
    device = torch.device(f"cuda:{local_rank}" if cuda else "cpu")
    if cuda:
        torch.cuda.set_device(device)
    amp = cfg.amp and device.type == "cuda"
    handler = None
    if main:  # the run's log also goes to run_dir/train.log (launch_ddp shows it live)
        run_dir.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(run_dir / "train.log")
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
    try:
        model = _loop(cfg, run_dir, resume, rank, world, main, strategy, device, amp)
        if distributed:
            dist.barrier()  # rank 0 has written summary.json for everyone to read
    finally:
        if handler is not None:
            log.removeHandler(handler)
            handler.close()
        if distributed and dist.is_initialized():
            dist.destroy_process_group()
    return model


def _loop(
    cfg: TrainConfig,
    run_dir: Path,
    resume: bool,
    rank: int,
    world: int,
    main: bool,
    strategy: str,
    device: torch.device,
    amp: bool,
) -> nn.Module | None:
    t_start = time.monotonic()
    run_dir.mkdir(parents=True, exist_ok=True)

    # Resume state first: it decides whether there is anything to do.
    state = _latest_good_checkpoint(run_dir) if resume else None
    if not resume and ckpt_io.list_checkpoints(run_dir):
        raise FileExistsError(
            f"{run_dir} already holds checkpoints. Continue that run with --resume "
            "(train(..., resume=True)), or choose another --out folder."
        )
    if state is not None and state.get("legacy"):
        raise ckpt_io.CheckpointError(f"{state['path']} has no training state to resume from")
    if state is not None:
        old = TrainConfig.from_dict(state["config"])
        if old.model_signature() != cfg.model_signature():
            raise ckpt_io.CheckpointError(
                f"Cannot resume {state['path']}: its model {old.model_signature()} differs from "
                f"the requested {cfg.model_signature()}. Use another --out folder."
            )
    start_epoch = state["epoch"] if state else 0
    history: list[dict[str, Any]] = list(state.get("history", [])) if state else []

    if cfg.exclude_file:  # config.json records which exclude list the run used
        cfg = cfg.replace(exclude_sha256=file_sha256(cfg.exclude_file))
    if main:
        cfg.to_json(run_dir / "config.json")
        log.info(
            "vitst | preset %s | %s | strategy %s x%d | amp %s | run dir %s",
            cfg.preset,
            describe_hardware(),
            strategy,
            world,
            "fp16" if amp else "off",
            run_dir,
        )
    if start_epoch >= cfg.epochs:
        if main:
            log.info(
                "Nothing to do: %s already completed %d/%d epochs.",
                run_dir,
                start_epoch,
                cfg.epochs,
            )
            _write_summary(run_dir, start_epoch, "already_complete", time.monotonic() - t_start)
        return None

    # Data. Rank 0 makes the synthetic set (if any) before the others look at it.
    if main:
        root, synthetic = resolve_data_root(cfg, run_dir)
    if world > 1:
        dist.barrier()
    if not main:
        root, synthetic = resolve_data_root(cfg, run_dir)
    data = build_datasets(cfg, root)
    if main:
        log.info(
            "data: %s%s | %s",
            root,
            " (SYNTHETIC sample data)" if synthetic else "",
            ", ".join(f"{k} {len(v)}" for k, v in data.items()),
        )
        for ds in data.values():
            if ds.skipped:
                log.warning(format_skip_report(ds.skipped, ds.folder))
        if cfg.exclude_file:
            n_out = sum(len(ds.excluded) for ds in data.values())
            log.info(
                "exclude_file %s (sha256 %s): left out %d files",
                cfg.exclude_file,
                cfg.exclude_sha256,
                n_out,
            )

    if cfg.batch_size % world:
        raise ValueError(
            f"batch_size={cfg.batch_size} must be divisible by the {world} DDP processes"
        )
    per_rank = cfg.batch_size // world
    if min(len(data["content_train"]), len(data["style_train"])) < cfg.batch_size:
        raise ValueError(
            f"batch_size={cfg.batch_size} exceeds the training images "
            f"({len(data['content_train'])} content, {len(data['style_train'])} style)"
        )

    def loader(ds: ImageFolderDataset, epoch: int, offset: int) -> DataLoader:
        # Order is a function of (seed, epoch): a resumed run sees the data a full run would.
        if world > 1:
            sampler = DistributedSampler(
                ds, world, rank, shuffle=True, seed=cfg.seed + offset, drop_last=True
            )
            sampler.set_epoch(epoch)
            kw: dict[str, Any] = {"sampler": sampler}
        else:
            g = torch.Generator().manual_seed(cfg.seed * 100_003 + epoch * 2 + offset)
            kw = {"shuffle": True, "generator": g}
        return DataLoader(
            ds,
            batch_size=per_rank,
            drop_last=True,
            num_workers=cfg.num_workers,
            pin_memory=device.type == "cuda",
            **kw,
        )

    # Model, optimiser, scaler. Same seed on every rank; DDP also syncs rank 0's weights.
    torch.manual_seed(cfg.seed)
    if world > 1 and not main:
        dist.barrier()  # let rank 0 download (and cache) pretrained weights alone
    model = build_model(cfg).to(device)
    if world > 1 and main:
        dist.barrier()
    if strategy == "dp":
        net: nn.Module = nn.DataParallel(model)
    elif strategy == "ddp":
        net = nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )
    else:
        net = model
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    scaler = torch.amp.GradScaler("cuda", enabled=amp)
    torch.manual_seed(cfg.seed + 1000 * rank + start_epoch)  # augmentation differs per rank
    if state is not None:
        ckpt_io.load_state(model, state["model"], state["path"])
        optimizer.load_state_dict(state["optimizer"])
        scaler.load_state_dict(state["scaler"])
        if main and "rng" in state:
            _set_rng_state(state["rng"])
        if main:
            log.info("resumed from %s (%d/%d epochs done)", state["path"], start_epoch, cfg.epochs)

    # The fixed validation batch: the same images every epoch.
    n_val = min(cfg.num_samples, len(data["content_val"]), len(data["style_val"]))
    val_content = first_images(data["content_val"], n_val).to(device)
    val_style = first_images(data["style_val"], n_val).to(device)

    budget_s = cfg.time_budget_minutes * 60 if cfg.time_budget_minutes else math.inf
    consecutive_bad = 0
    saved_epoch = start_epoch  # the newest epoch with a checkpoint on disk
    stopped = "completed"
    epoch = start_epoch

    def save(epoch_done: int) -> None:
        if not main:
            return
        ckpt_io.save_checkpoint(
            ckpt_io.checkpoint_path(run_dir, epoch_done),
            model,
            cfg,
            epoch_done,
            optimizer=optimizer.state_dict(),
            scaler=scaler.state_dict(),
            history=history,
            rng=_rng_state(),
        )
        ckpt_io.prune_checkpoints(run_dir, cfg.keep_last)

    for epoch in range(start_epoch + 1, cfg.epochs + 1):
        t0 = time.monotonic()
        net.train()
        sums = torch.zeros(4, device=device)  # total, content, style, good steps
        skipped = 0
        cl, sl = loader(data["content_train"], epoch, 0), loader(data["style_train"], epoch, 1)
        n_steps = min(len(cl), len(sl))
        bar = tqdm(
            zip(cl, sl, strict=False),
            total=n_steps,
            desc=f"epoch {epoch}/{cfg.epochs}",
            disable=not main,
            leave=False,
            dynamic_ncols=True,
        )
        out_of_time = False
        for step, (content, style) in enumerate(bar, 1):
            content = content.to(device, non_blocking=True)
            style = style.to(device, non_blocking=True)
            optimizer.zero_grad(set_to_none=True)
            with torch.autocast(device.type, dtype=torch.float16, enabled=amp):
                generated = net(content, style)
                c_loss, s_loss = model.calculate_loss(generated, content, style)
            total = cfg.lambda_content * c_loss + cfg.lambda_style * s_loss
            # Every rank must agree on skipping and stopping, or DDP would hang.
            flags = torch.stack(
                [
                    (~torch.isfinite(total.detach())).float(),
                    torch.tensor(float(time.monotonic() - t_start > budget_s), device=device),
                ]
            )
            flags = _all_reduce(flags, dist.ReduceOp.MAX)
            if flags[0] > 0:
                skipped += 1
                consecutive_bad += 1
                if consecutive_bad >= cfg.max_nonfinite_steps:
                    good = ckpt_io.list_checkpoints(run_dir)
                    raise NonFiniteLossError(
                        f"{consecutive_bad} consecutive non-finite losses (epoch {epoch}, step "
                        f"{step}); training stopped. Last good checkpoint: "
                        f"{good[-1][1] if good else 'none yet'} (resume with --resume). "
                        "Try a lower lr, --set amp=false, or check the data."
                    )
            else:
                consecutive_bad = 0
                scaler.scale(total).backward()
                scaler.step(optimizer)
                scaler.update()
                sums += torch.stack(
                    [
                        total.detach(),
                        c_loss.detach(),
                        s_loss.detach(),
                        torch.ones((), device=device),
                    ]
                ).float()
                if main and (step % 5 == 0 or step == n_steps):
                    bar.set_postfix(
                        total=f"{total.item():.3f}",
                        content=f"{c_loss.item():.3f}",
                        style=f"{s_loss.item():.3f}",
                    )
            if flags[1] > 0:
                out_of_time = True
                break
        bar.close()
        if out_of_time:
            epoch -= 1  # the partial epoch does not count; its steps are redone on resume
            stopped = "time_budget"
            break

        sums = _all_reduce(sums) / world
        good_steps = sums[3].item() or math.nan  # an all-skipped epoch has no mean loss
        seconds = time.monotonic() - t0
        row = {
            "epoch": epoch,
            "total_loss": sums[0].item() / good_steps,
            "content_loss": sums[1].item() / good_steps,
            "style_loss": sums[2].item() / good_steps,
            "skipped_steps": skipped,
            "seconds": seconds,
            "images_per_s": n_steps * cfg.batch_size / seconds,
        }
        history.append(row)

        if main:
            net.eval()
            with torch.no_grad(), torch.autocast(device.type, dtype=torch.float16, enabled=amp):
                gen = model(val_content, val_style)
            title = f"{cfg.preset} | epoch {epoch}" + (" | synthetic data" if synthetic else "")
            save_figure(
                sample_grid(val_content, val_style, gen.float(), title),
                run_dir / "samples" / f"epoch_{epoch:03d}.png",
            )
            write_history_csv(run_dir / "history.csv", history)
            eta = seconds * (cfg.epochs - epoch)
            log.info(
                "epoch %3d/%d | total %.4f | content %.4f | style %.4f | %.1fs | %.1f img/s%s"
                " | ETA %s",
                epoch,
                cfg.epochs,
                row["total_loss"],
                row["content_loss"],
                row["style_loss"],
                seconds,
                row["images_per_s"],
                f" | {skipped} non-finite steps skipped" if skipped else "",
                f"{int(eta // 3600)}:{int(eta % 3600 // 60):02d}:{int(eta % 60):02d}",
            )

        if epoch % cfg.save_every == 0 or epoch == cfg.epochs:
            save(epoch)
            saved_epoch = epoch
        elapsed = time.monotonic() - t_start
        if epoch < cfg.epochs and elapsed + seconds > budget_s:
            stopped = "time_budget"
            break

    if stopped == "time_budget":
        if epoch > saved_epoch:
            save(epoch)
            saved_epoch = epoch
        if main:
            log.info(
                "time budget of %.0f min reached after epoch %d/%d; checkpoint %s. "
                "Continue with --resume.",
                cfg.time_budget_minutes,
                epoch,
                cfg.epochs,
                ckpt_io.checkpoint_path(run_dir, saved_epoch) if saved_epoch else "none yet",
            )
    if main:
        _write_summary(run_dir, epoch, stopped, time.monotonic() - t_start)
    return model


def _write_summary(run_dir: Path, epochs: int, stopped: str, seconds: float) -> None:
    _write_atomic(
        run_dir / "summary.json",
        json.dumps(
            {
                "epochs_completed": epochs,
                "stopped": stopped,
                "seconds": round(seconds, 2),
                "checkpoints": [p.name for _, p in ckpt_io.list_checkpoints(run_dir)],
            },
            indent=2,
        )
        + "\n",
    )


# --- CLI -------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m vitst_utils.train",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--preset", required=True, choices=sorted(PRESETS))
    p.add_argument(
        "--data-root",
        help="AvatarAnime folder (default: $VITST_DATA_ROOT, "
        "then /kaggle/input discovery; smoke: built-in synthetic data)",
    )
    p.add_argument("--out", type=Path, help="run directory (default: runs/<preset>)")
    p.add_argument("--epochs", type=int)
    p.add_argument("--save-every", type=int)
    p.add_argument("--strategy", choices=["auto", "single", "dp", "ddp"])
    p.add_argument(
        "--nproc",
        type=int,
        help="DDP processes when not under torchrun (default: one per GPU, 2 on CPU)",
    )
    p.add_argument("--resume", action="store_true", help="continue from the newest checkpoint")
    p.add_argument(
        "--set",
        nargs="*",
        default=[],
        metavar="KEY=VALUE",
        help="any TrainConfig field, e.g. --set lr=5e-5 amp=false keep_last=2",
    )
    return p.parse_args(argv)


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    overrides = parse_overrides(args.set)
    for name in ("data_root", "epochs", "save_every", "strategy"):
        if getattr(args, name) is not None:
            overrides[name] = getattr(args, name)
    return get_preset(args.preset, **overrides)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if int(os.environ.get("RANK", "0")) == 0:
        logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    try:
        cfg = config_from_args(args)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    run_dir = args.out or default_run_dir(cfg.preset)
    if args.nproc and not _dist_env():
        result = launch_ddp(cfg.replace(strategy="ddp"), run_dir, args.resume, args.nproc)
    else:
        result = train(cfg, run_dir, args.resume)
    if int(os.environ.get("RANK", "0")) == 0:
        print(
            f"done: {result.epochs_completed}/{cfg.epochs} epochs ({result.stopped}); "
            f"checkpoints in {run_dir / 'checkpoints'}, samples in {run_dir / 'samples'}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
