"""The data one training run reads: its four datasets (found, checked, reported, the training
sets cached once when asked), each rank's loader of an epoch and its batches on the device.

Everything here runs alike on every DDP rank (rank 0 alone makes synthetic data and reports);
the loop in `train.py` asks for it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, DistributedSampler

from .config import TrainConfig
from .data import (
    build_datasets,
    file_sha256,
    format_skip_report,
    gpu_augment,
    read_exclude_file,
)
from .dataroot import resolve_data_root
from .imagecache import SharedImageCache, cache_training_images

log = logging.getLogger(__name__)


def with_exclude_hash(cfg: TrainConfig) -> TrainConfig:
    """config.json records which exclude list the run used."""
    if not cfg.exclude_file:
        return cfg
    return cfg.replace(exclude_sha256=file_sha256(cfg.exclude_file))


def training_data(
    cfg: TrainConfig, run_dir: Path, rank: int, world: int
) -> tuple[dict[str, Any], bool]:
    """The four datasets of a run (and whether they are synthetic), checked against the batch
    size and reported (rank 0). Rank 0 makes the synthetic set, if any, before the others look
    at it; with `cache_images` the training images are decoded once into a shared file
    (`imagecache.cache_training_images`)."""
    main = rank == 0
    if main:
        root, synthetic = resolve_data_root(cfg, run_dir)
    if world > 1:
        dist.barrier()
    if not main:
        root, synthetic = resolve_data_root(cfg, run_dir)
    data: dict[str, Any] = build_datasets(cfg, root)
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
            log.info(
                "exclude_file %s (sha256 %s): left out %d files (of %d listed; the others lie "
                "in other splits or past the image limits)",
                cfg.exclude_file,
                cfg.exclude_sha256,
                sum(len(ds.excluded) for ds in data.values()),
                len(read_exclude_file(cfg.exclude_file)),
            )
    if cfg.batch_size % world:
        raise ValueError(
            f"batch_size={cfg.batch_size} must be divisible by the {world} DDP processes"
        )
    if min(len(data["content_train"]), len(data["style_train"])) < cfg.batch_size:
        raise ValueError(
            f"batch_size={cfg.batch_size} exceeds the training images "
            f"({len(data['content_train'])} content, {len(data['style_train'])} style)"
        )
    cache_training_images(data, cfg, main, world)
    return data, synthetic


def epoch_loader(
    ds: Any, cfg: TrainConfig, epoch: int, offset: int, rank: int, world: int, device: torch.device
) -> DataLoader:
    """This rank's batches of `ds` for `epoch` (`offset`: 0 content, 1 style). Order is a
    function of (seed, epoch): a resumed run sees the data a full run would."""
    if world > 1:
        sampler = DistributedSampler(
            ds, world, rank, shuffle=True, seed=cfg.seed + offset, drop_last=True
        )
        sampler.set_epoch(epoch)
        kw: dict[str, Any] = {"sampler": sampler}
    else:
        g = torch.Generator().manual_seed(cfg.seed * 100_003 + epoch * 2 + offset)
        kw = {"shuffle": True, "generator": g}
    cached = isinstance(ds, SharedImageCache)  # a slice of a mapped file, no decode: no workers
    return DataLoader(
        ds,
        batch_size=cfg.batch_size // world,
        drop_last=True,
        num_workers=0 if cached else cfg.num_workers,
        pin_memory=device.type == "cuda",
        **kw,
    )


def on_device(batch: torch.Tensor, device: torch.device, hflip: bool) -> torch.Tensor:
    """A batch on the device, normalised; cached uint8 crops are flipped there."""
    batch = batch.to(device, non_blocking=True)
    if batch.dtype == torch.uint8:
        batch = gpu_augment(batch, hflip)
    return batch
