"""Training: one plain loop for CPU, one GPU, DataParallel and DDP, with fp16 AMP and resume.

    python -m vitst_utils.train --preset smoke --out runs/smoke
    torchrun --nproc_per_node=2 -m vitst_utils.train --preset seed --strategy ddp --out runs/seed

A run directory holds config.json, history.csv, samples/epoch_XXX.png, checkpoints/epoch_XXX.pt
and summary.json. `--resume` continues from the newest checkpoint there.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from tqdm.auto import tqdm

from . import checkpoint as ckpt_io
from . import distributed, losses, rundir
from .config import TrainConfig, parse_overrides
from .data import first_images
from .env import describe_environment, describe_hardware, gpu_count, resolve_strategy
from .epoch_report import history_row, report_epoch
from .model import build_model
from .presets import PRESETS, RECIPES, get_preset
from .prototype import training_prototype
from .rundir import TrainResult
from .step import Trainer, build_trainer
from .trainingdata import epoch_loader, on_device, training_data, with_exclude_hash
from .weights import fetch_pretrained_weights

log = logging.getLogger(__name__)
package_log = logging.getLogger(__package__)  # train.log: every module's lines of the run


NO_DATA_FIX = (
    "fix: pass --data-root DIR (or --preset smoke for the built-in synthetic data); write an "
    "exclude list with `python -m vitst_utils.dataquality --data-root DIR --out DIR`"
)


class NonFiniteLossError(RuntimeError):
    """Too many consecutive non-finite losses: training stopped, last good checkpoint kept."""


# --- DDP --------------------------------------------------------------------------------------
def launch_ddp(
    cfg: TrainConfig, run_dir: str | Path, resume: bool = False, nprocs: int | None = None
) -> TrainResult:
    """Start one DDP process per GPU (2 gloo processes on CPU) and train. Works from a notebook,
    because the worker lives in this module; rank 0's log lines are relayed here as they come,
    with a bar over epochs (`distributed.spawn_relaying`). Pretrained weights are fetched first,
    here; an error in any worker ends them all and is raised here as that worker's own
    exception (its traceback: worker_errors.log)."""
    run_dir = Path(run_dir)
    nprocs = nprocs or gpu_count() or 2
    fetch_pretrained_weights(cfg)
    distributed.spawn_relaying(
        _ddp_worker,
        (cfg.to_dict(), str(run_dir), resume),
        nprocs,
        log_file=run_dir / rundir.LOG,
        done=lambda: len(rundir.read_history(run_dir)),
        total=cfg.epochs,
    )
    return TrainResult.from_run_dir(run_dir)


def _ddp_worker(rank: int, world: int, cfg_dict: dict, run_dir: str, resume: bool) -> None:
    """One rank of `launch_ddp`. A failure is noted in train.log (one line) and its traceback
    in worker_errors.log before it is passed on to the parent."""
    package_log.setLevel(logging.INFO)  # lines reach train.log, which the parent relays
    try:
        _run(TrainConfig.from_dict(cfg_dict), Path(run_dir), resume)
    except Exception as e:
        rundir.note_worker_error(run_dir, rank, e, traceback.format_exc())
        raise


# --- the loop --------------------------------------------------------------------------------
def train(cfg: TrainConfig, run_dir: str | Path | None = None, resume: bool = False) -> TrainResult:
    """Train per `cfg` into `run_dir` (default: see rundir.default_run_dir); DDP is launched as
    needed. With `resume`, continue from the newest checkpoint there (or start if none)."""
    run_dir = Path(run_dir) if run_dir is not None else rundir.default_run_dir(cfg.run_name)
    if resolve_strategy(cfg.strategy) == "ddp" and not distributed.launched():
        return launch_ddp(cfg, run_dir, resume)
    _run(cfg, run_dir, resume)
    return TrainResult.from_run_dir(run_dir)


@dataclass
class _Ctx:
    """Where this process trains: its rank among `world`, its device, and the run folder."""

    cfg: TrainConfig
    run_dir: Path
    rank: int
    world: int
    device: torch.device
    strategy: str
    amp: bool
    t_start: float = field(default_factory=lambda: time.monotonic())
    bad_steps: int = 0  # consecutive non-finite steps, carried across epochs
    balance_logged: bool = False  # the run's first loss-balance line was written

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def budget_s(self) -> float:
        minutes = self.cfg.time_budget_minutes
        return minutes * 60 if minutes else math.inf

    @property
    def bar_options(self) -> dict[str, Any]:
        """The per-step bar: rank 0 only; in DDP at most one refresh per 30 s (over 11 hours
        a child process's bar would bloat a notebook's output)."""
        throttle = {"mininterval": 30.0, "maxinterval": 60.0} if self.world > 1 else {}
        return {"disable": not self.main, "leave": False, "dynamic_ncols": True, **throttle}


def _run(cfg: TrainConfig, run_dir: Path, resume: bool) -> nn.Module | None:
    """Train in this process (one DDP rank when WORLD_SIZE > 1); return the bare model."""
    multi = distributed.launched()
    rank, world, device = distributed.join(cfg.ddp_timeout_minutes)
    strategy = "ddp" if multi else resolve_strategy(cfg.strategy)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = cfg.cudnn_benchmark
    amp = cfg.amp and device.type == "cuda"
    ctx = _Ctx(cfg, run_dir, rank, world, device, strategy, amp)
    handler, level = None, package_log.level
    if ctx.main:  # the run's log also goes to run_dir/train.log (launch_ddp shows it live)
        package_log.setLevel(logging.INFO)
        run_dir.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(run_dir / rundir.LOG)
        handler.setFormatter(logging.Formatter("%(message)s"))
        package_log.addHandler(handler)
    ok = False
    try:
        model = _loop(ctx, resume)
        if multi:
            dist.barrier()  # rank 0 has written summary.json for everyone to read
        ok = True
    finally:
        if handler is not None:
            package_log.removeHandler(handler)
            package_log.setLevel(level)
            handler.close()
        if multi and dist.is_initialized() and ok:  # after an error: exit, do not wait
            dist.destroy_process_group()
    return model


def _loop(ctx: _Ctx, resume: bool) -> nn.Module | None:
    """Resume or start, then epochs until done, out of time, or stopped by non-finite losses."""
    state = _resume_state(ctx, resume)
    start_epoch = state["epoch"] if state else 0
    history: list[dict[str, Any]] = list(state.get("history", [])) if state else []
    cfg = ctx.cfg = with_exclude_hash(ctx.cfg)
    if ctx.main:
        rundir.write_config(ctx.run_dir, cfg)
        log.info("%s", describe_environment())
        log.info(
            "vitst | preset %s, %s recipe | %s | strategy %s x%d | amp %s | run dir %s",
            cfg.preset,
            cfg.recipe,
            describe_hardware(),
            ctx.strategy,
            ctx.world,
            "fp16" if ctx.amp else "off",
            ctx.run_dir,
        )
    if start_epoch >= cfg.epochs:
        if ctx.main:
            log.info(
                "Nothing to do: %s already completed %d/%d epochs.",
                ctx.run_dir,
                start_epoch,
                cfg.epochs,
            )
            rundir.write_summary(ctx.run_dir, start_epoch, "already_complete", _elapsed(ctx))
        return None

    data, synthetic = training_data(cfg, ctx.run_dir, ctx.rank, ctx.world)
    steps_per_epoch = min(len(data["content_train"]), len(data["style_train"])) // cfg.batch_size
    trainer = _build(ctx, steps_per_epoch, state, start_epoch)
    n_val = min(cfg.num_samples, len(data["content_val"]), len(data["style_val"]))
    val = (first_images(data["content_val"], n_val), first_images(data["style_val"], n_val))
    saved_epoch, stopped, epoch = start_epoch, "completed", start_epoch

    for epoch in range(start_epoch + 1, cfg.epochs + 1):
        t0 = time.monotonic()
        row = _train_epoch(ctx, trainer, data, epoch)
        if row is None:  # out of time: the partial epoch does not count, resume redoes it
            epoch -= 1
            stopped = "time_budget"
            break
        row["seconds"] = seconds = time.monotonic() - t0
        row["images_per_s"] = steps_per_epoch * cfg.batch_size / seconds
        history.append(row)
        if ctx.main:
            report_epoch(cfg, ctx.run_dir, trainer, history, val, synthetic, ctx.device, ctx.amp)
        if epoch % cfg.save_every == 0 or epoch == cfg.epochs:
            _save(ctx, trainer, epoch, history, data)
            saved_epoch = epoch
        # one decision for all ranks: whichever clock says another epoch no longer fits
        (out_of_time,) = distributed.agree(
            epoch < cfg.epochs and _seconds_left(ctx) < seconds, device=ctx.device
        )
        if out_of_time:
            stopped = "time_budget"
            break

    if stopped == "time_budget":
        if epoch > saved_epoch:
            _save(ctx, trainer, epoch, history, data)
            saved_epoch = epoch
        if ctx.main:
            last = rundir.checkpoint_path(ctx.run_dir, saved_epoch) if saved_epoch else "none yet"
            log.info(
                "out of time (%s) after epoch %d/%d; checkpoint %s. Continue with --resume.",
                _limits(cfg),
                epoch,
                cfg.epochs,
                last,
            )
    peaks = distributed.peak_memory_mib(ctx.device, ctx.rank, ctx.world)
    if ctx.main:
        if peaks:
            log.info("peak GPU memory (MiB, reserved by torch): %s", peaks)
        rundir.write_summary(ctx.run_dir, epoch, stopped, _elapsed(ctx), peaks)
    return trainer.model


def _elapsed(ctx: _Ctx) -> float:
    return time.monotonic() - ctx.t_start


def _seconds_left(ctx: _Ctx) -> float:
    """Seconds until the first limit: the time budget (from this process's start) or the
    deadline (wall clock, shared by every process of a session); inf without either."""
    left = ctx.budget_s - _elapsed(ctx)
    if ctx.cfg.deadline is not None:
        left = min(left, ctx.cfg.deadline - time.time())
    return left


def _limits(cfg: TrainConfig) -> str:
    parts = [f"time budget {cfg.time_budget_minutes:g} min"] if cfg.time_budget_minutes else []
    if cfg.deadline is not None:
        parts.append(f"deadline {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(cfg.deadline))}")
    return ", ".join(parts) or "no limit"


def _resume_state(ctx: _Ctx, resume: bool) -> dict[str, Any] | None:
    """The checkpoint to continue from (None: start afresh), after checking it fits."""
    run_dir, cfg = ctx.run_dir, ctx.cfg
    run_dir.mkdir(parents=True, exist_ok=True)
    if not resume and rundir.list_checkpoints(run_dir):
        raise FileExistsError(
            f"{run_dir} already holds checkpoints. Continue that run with --resume "
            "(train(..., resume=True)), or choose another --out folder."
        )
    state = ckpt_io.latest_checkpoint(run_dir) if resume else None
    if state is None:
        return None
    if state.get("legacy"):
        raise ckpt_io.CheckpointError(f"{state['path']} has no training state to resume from")
    old = TrainConfig.from_dict(state["config"])
    if old.model_signature() != cfg.model_signature():
        raise ckpt_io.CheckpointError(
            f"Cannot resume {state['path']}: its model {old.model_signature()} differs from "
            f"the requested {cfg.model_signature()}. Use another --out folder."
        )
    return state


def _build(ctx: _Ctx, steps_per_epoch: int, state: dict | None, start_epoch: int) -> Trainer:
    """Model, wrappers, optimizers and schedulers, restored from `state` when resuming."""
    cfg = ctx.cfg
    torch.manual_seed(cfg.seed)  # the same initial weights on every rank (DDP syncs them too)
    if ctx.world > 1 and not ctx.main:
        dist.barrier()  # let rank 0 download (and cache) pretrained weights alone
    model = build_model(cfg).to(ctx.device)
    weights, old_vgg = ckpt_io.split_loss_net(state["model"]) if state is not None else ({}, None)
    loss_net = losses.loss_net(cfg, old_vgg)  # an older checkpoint's own VGG19: the same objective
    if ctx.world > 1 and ctx.main:
        dist.barrier()
    if state is not None:
        ckpt_io.load_state(model, weights, state["path"])
    total_steps = steps_per_epoch * cfg.epochs
    trainer = build_trainer(
        cfg, model, ctx.device, ctx.strategy, ctx.amp, total_steps, loss_net=loss_net
    )
    torch.manual_seed(cfg.seed + 1000 * ctx.rank + start_epoch)  # augmentation differs per rank
    if state is not None:
        trainer.load_state_dict(state, start_epoch * steps_per_epoch)
        if ctx.main and "rng" in state:
            ckpt_io.set_rng_state(state["rng"])
        if ctx.main:
            log.info("resumed from %s (%d/%d epochs done)", state["path"], start_epoch, cfg.epochs)
    return trainer


def _train_epoch(ctx: _Ctx, trainer: Trainer, data: dict, epoch: int) -> dict[str, Any] | None:
    """One epoch of steps; the history row of mean losses, or None when out of time."""
    cfg = ctx.cfg
    trainer.net.train()
    if trainer.disc_net is not None:
        trainer.disc_net.train()
    adversarial = epoch >= cfg.adv_start_epoch
    cl = epoch_loader(data["content_train"], cfg, epoch, 0, ctx.rank, ctx.world, ctx.device)
    sl = epoch_loader(data["style_train"], cfg, epoch, 1, ctx.rank, ctx.world, ctx.device)
    n_steps = min(len(cl), len(sl))
    bar = tqdm(
        zip(cl, sl, strict=False),
        total=n_steps,
        desc=f"epoch {epoch}/{cfg.epochs}",
        **ctx.bar_options,
    )
    sums: dict[str, torch.Tensor] = {}
    balance = losses.BalanceMeans()
    good = skipped = 0
    for step, (content, style) in enumerate(bar, 1):
        out = trainer.step(
            on_device(content, ctx.device, cfg.hflip),
            on_device(style, ctx.device, cfg.hflip),
            adversarial,
            stop=_seconds_left(ctx) <= 0,  # agreed on in the step's collective
        )
        if out.skipped:
            skipped += 1
            ctx.bad_steps += 1
            if ctx.bad_steps >= cfg.max_nonfinite_steps:
                good_ckpts = rundir.list_checkpoints(ctx.run_dir)
                raise NonFiniteLossError(
                    f"{ctx.bad_steps} consecutive non-finite losses (epoch {epoch}, step {step}); "
                    "training stopped. Last good checkpoint: "
                    f"{good_ckpts[-1][1] if good_ckpts else 'none yet'} (resume with --resume). "
                    "Try a lower lr, --set amp=false, or check the data."
                )
        else:
            ctx.bad_steps = 0
            good += 1
            for k, v in out.losses.items():
                sums[k] = sums.get(k, 0) + v
            balance.add(out)
            if ctx.main and out.balance and not ctx.balance_logged:
                ctx.balance_logged = True
                log.info("%s", losses.format_balance(out.balance, f"epoch {epoch}, step {step}"))
            if ctx.main and (step % 5 == 0 or step == n_steps):
                bar.set_postfix({k: f"{v.item():.3f}" for k, v in out.losses.items()})
        if out.stop:
            bar.close()
            return None
    bar.close()
    row = history_row(cfg, trainer, epoch, sums, good, skipped, ctx.device)
    return {**row, **balance.columns()}


def _save(ctx: _Ctx, trainer: Trainer, epoch: int, history: list, data: dict) -> None:
    """Rank 0 writes the checkpoint: weights, config, training state and the prototype (the
    mean AdaIN statistics of the training style images, for stylising without a style image)."""
    if not ctx.main:
        return
    prototype = training_prototype(
        trainer.model, data["style_train"].files, ctx.cfg, ctx.device, ctx.amp
    )
    ckpt_io.save_checkpoint(
        rundir.checkpoint_path(ctx.run_dir, epoch),
        trainer.model,
        ctx.cfg,
        epoch,
        history=history,
        rng=ckpt_io.rng_state(),  # after the prototype's loader drew its seed: resume is exact
        prototype=prototype,
        **trainer.state_dict(),
    )
    rundir.prune_checkpoints(ctx.run_dir, ctx.cfg.keep_last)


# --- CLI -------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m vitst_utils.train",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--preset", required=True, choices=list(PRESETS))
    p.add_argument(
        "--recipe",
        choices=list(RECIPES),
        help="train the other recipe at the preset's scale (e.g. --preset demo --recipe seed: "
        "the seed's losses and decoder at demo size; default run folder runs/demo-seed)",
    )
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
        action="extend",  # --set a=1 --set b=2 keeps both (plain nargs kept only the last)
        default=[],
        metavar="KEY=VALUE",
        help="any TrainConfig field, e.g. --set lr=5e-5 amp=false keep_last=2 (repeatable)",
    )
    return p.parse_args(argv)


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    overrides = parse_overrides(args.set)
    for name in ("data_root", "epochs", "save_every", "strategy"):
        if getattr(args, name) is not None:
            overrides[name] = getattr(args, name)
    return get_preset(args.preset, args.recipe, **overrides)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if int(os.environ.get("RANK", "0")) == 0:
        logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    try:
        cfg = config_from_args(args)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    run_dir = args.out or rundir.default_run_dir(cfg.run_name)
    try:
        if args.nproc and not distributed.launched():
            result = launch_ddp(cfg.replace(strategy="ddp"), run_dir, args.resume, args.nproc)
        else:
            result = train(cfg, run_dir, args.resume)
    except FileNotFoundError as e:  # no data, or a missing exclude list: say which flag fixes it
        print(f"error: {e}", file=sys.stderr)
        print(NO_DATA_FIX, file=sys.stderr)
        return 2
    if int(os.environ.get("RANK", "0")) == 0:
        print(
            f"done: {result.epochs_completed}/{cfg.epochs} epochs ({result.stopped}); "
            f"checkpoints in {run_dir / 'checkpoints'}, samples in {run_dir / 'samples'}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
