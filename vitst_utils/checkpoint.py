"""Checkpoints: written atomically, read as data only (`weights_only=True`), self-describing.

A checkpoint is a dict with at least `model` (weights, no `module.` prefix), `config` (the
TrainConfig as a dict) and `epoch` (completed epochs), so the file alone rebuilds its model.
A bare state dict saved the seed's way (`nn.DataParallel(model).state_dict()`) loads too,
as the `seed` architecture.
"""

from __future__ import annotations

import os
import pickle
import re
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .config import TrainConfig, get_preset
from .model import ViTStyleTransfer, build_model

FORMAT = "vitst-checkpoint"
_NAME = re.compile(r"^epoch_(\d+)\.pt$")


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be read, is refused, or does not fit the model."""


def unwrap(model: nn.Module) -> nn.Module:
    """The bare model inside DataParallel / DistributedDataParallel."""
    return (
        model.module
        if isinstance(model, (nn.DataParallel, nn.parallel.DistributedDataParallel))
        else model
    )


def strip_prefix(state: dict[str, Any], prefix: str = "module.") -> dict[str, Any]:
    return {k.removeprefix(prefix): v for k, v in state.items()}


def checkpoint_path(run_dir: str | Path, epoch: int) -> Path:
    return Path(run_dir) / "checkpoints" / f"epoch_{epoch:03d}.pt"


def save_checkpoint(
    path: str | Path, model: nn.Module, cfg: TrainConfig, epoch: int, **state: Any
) -> Path:
    """Write model weights, config, epoch and any extra training `state` atomically:
    a temp file in the same folder, fsync, then rename, so a crash never leaves a broken file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": FORMAT,
        "model": strip_prefix(unwrap(model).state_dict()),
        "config": cfg.to_dict(),
        "epoch": int(epoch),
        **state,
    }
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            torch.save(payload, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _is_state_dict(obj: Any) -> bool:
    return (
        isinstance(obj, dict)
        and bool(obj)
        and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items())
    )


def load_checkpoint(path: str | Path, map_location: Any = "cpu") -> dict[str, Any]:
    """Read a checkpoint as data. A seed-style bare state dict comes back wrapped as
    `{"model": ..., "config": seed config, "epoch": None, "legacy": True}`."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"No checkpoint file at {path}")
    try:
        obj = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        raise CheckpointError(
            f"Refused to load {path}: it holds Python objects beyond tensors and plain data, and "
            "vitst loads checkpoints as data only (torch.load weights_only=True), since such a "
            "file can run code. If you made it and trust it, re-save just its state_dict(). "
            f"Detail: {str(e).splitlines()[0]}"
        ) from e
    except Exception as e:
        raise CheckpointError(
            f"{path} is not a readable checkpoint (truncated or corrupt?): {type(e).__name__}: {e}"
        ) from e
    if isinstance(obj, dict) and obj.get("format") == FORMAT:
        return obj
    if _is_state_dict(obj):
        return {
            "model": strip_prefix(obj),
            "config": get_preset("seed").to_dict(),
            "epoch": None,
            "legacy": True,
        }
    raise CheckpointError(
        f"{path} is neither a vitst checkpoint nor a model state dict "
        f"(top-level keys: {list(obj)[:8] if isinstance(obj, dict) else type(obj).__name__})"
    )


def load_state(model: nn.Module, state: dict[str, torch.Tensor], source: str | Path = "") -> None:
    """Load weights strictly; a mismatch names the missing and unexpected keys."""
    state = strip_prefix(state)
    try:
        missing, unexpected = unwrap(model).load_state_dict(state, strict=False)
    except RuntimeError as e:  # shape mismatches
        raise CheckpointError(f"Checkpoint {source} does not fit the model: {e}") from e
    if missing or unexpected:

        def show(keys: list[str]) -> str:
            return ", ".join(keys[:8]) + (f" ... ({len(keys)} in all)" if len(keys) > 8 else "")

        raise CheckpointError(
            f"Checkpoint {source} does not fit the model. "
            f"Missing keys: [{show(missing)}]. Unexpected keys: [{show(unexpected)}]. "
            "Was it written for another architecture or preset?"
        )


def load_model(
    path: str | Path, map_location: str | torch.device = "cpu"
) -> tuple[ViTStyleTransfer, TrainConfig]:
    """Rebuild the model from the file alone (no downloads), in eval mode."""
    ckpt = load_checkpoint(path, map_location)
    cfg = TrainConfig.from_dict(ckpt["config"])
    model = build_model(cfg, use_weights=False)
    load_state(model, ckpt["model"], path)
    return model.to(map_location).eval(), cfg


def list_checkpoints(run_dir: str | Path) -> list[tuple[int, Path]]:
    """(epoch, path) of the numbered checkpoints in `run_dir/checkpoints`, oldest first."""
    folder = Path(run_dir) / "checkpoints"
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _NAME.match(p.name))]
    return sorted(found)


def prune_checkpoints(run_dir: str | Path, keep_last: int) -> list[Path]:
    """Delete all but the newest `keep_last` numbered checkpoints (0 keeps all) and stale temp
    files from interrupted writes; return what was removed."""
    removed = []
    ckpts = list_checkpoints(run_dir)
    if keep_last > 0:
        removed = [p for _, p in ckpts[:-keep_last]]
    folder = Path(run_dir) / "checkpoints"
    if folder.is_dir():
        removed += [p for p in folder.glob(".epoch_*.pt.tmp-*")]
    for p in removed:
        p.unlink(missing_ok=True)
    return removed
