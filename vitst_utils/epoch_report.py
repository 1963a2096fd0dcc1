"""What one training epoch reports: its history row (the mean of each loss over the epoch's good
steps, averaged over ranks, with the learning rate and the skipped steps) and, on rank 0, the
fixed validation pairs' sample grid, history.csv and the epoch's log line. `train` calls both
once an epoch; the run folder's names and files are `rundir`'s."""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import torch

from . import distributed, losses, rundir
from .config import TrainConfig
from .plots import sample_grid, save_figure
from .step import Trainer

log = logging.getLogger(__name__)


def history_row(
    cfg: TrainConfig,
    trainer: Trainer,
    epoch: int,
    sums: dict,
    good: int,
    skipped: int,
    device: torch.device,
) -> dict[str, Any]:
    """Mean losses over the epoch's good steps, averaged over ranks (NaN if none was good).
    Every rank calls it: the mean is a collective."""
    adversarial = trainer.disc is not None and epoch >= cfg.adv_start_epoch
    terms = [k for k in losses.active_terms(cfg) if k != "adv" or adversarial]
    names = ["total", "rec", *terms, *(["d_loss"] if adversarial else [])]
    zero = torch.zeros((), device=device)
    vec = torch.stack([torch.as_tensor(sums.get(k, zero), device=device) for k in names])
    vec = torch.cat([vec, torch.tensor([float(good)], device=device)])
    *means, n = distributed.mean(vec).tolist()
    row: dict[str, Any] = {"epoch": epoch}
    row.update(
        {rundir.history_column(k): m / (n or math.nan) for k, m in zip(names, means, strict=True)}
    )
    row["lr"] = trainer.opt_g.param_groups[0]["lr"]
    row["skipped_steps"] = skipped
    return row


def report_epoch(
    cfg: TrainConfig,
    run_dir: Path,
    trainer: Trainer,
    history: list[dict],
    val: tuple,
    synthetic: bool,
    device: torch.device,
    amp: bool,
) -> None:
    """Rank 0: the fixed validation pairs' sample grid, history.csv and the epoch's log line."""
    row, epoch = history[-1], history[-1]["epoch"]
    model = trainer.model
    model.eval()
    content, style = (v.to(device) for v in val)
    with torch.no_grad(), torch.autocast(device.type, dtype=torch.float16, enabled=amp):
        gen = model(content, style)
    title = f"{cfg.run_name} | epoch {epoch}" + (" | synthetic data" if synthetic else "")
    save_figure(
        sample_grid(content, style, gen.float(), title),
        rundir.sample_path(run_dir, epoch),
    )
    rundir.write_history(run_dir, history)
    eta = row["seconds"] * (cfg.epochs - epoch)
    terms = " | ".join(
        f"{k.removesuffix('_loss')} {v:.4f}" for k, v in row.items() if k.endswith("loss")
    )
    log.info(
        "epoch %3d/%d | %s | %.1fs | %.1f img/s%s | ETA %s",
        epoch,
        cfg.epochs,
        terms,
        row["seconds"],
        row["images_per_s"],
        f" | {row['skipped_steps']} non-finite steps skipped" if row["skipped_steps"] else "",
        f"{int(eta // 3600)}:{int(eta % 3600 // 60):02d}:{int(eta % 60):02d}",
    )
