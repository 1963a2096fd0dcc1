"""Checkpoints: written atomically, read as data only (`weights_only=True`), self-describing.

A checkpoint is a dict with at least `model` (weights, no `module.` prefix), `config` (the
TrainConfig as a dict) and `epoch` (completed epochs), so the file alone rebuilds its model.
Three kinds of file load as a model:

- a training checkpoint (`format: vitst-checkpoint`, written by `train`): the generator's
  weights (encoder, fuse, decoder), optimizer and training state, and the style `prototype`;
- a slim export (`format: vitst-slim`, written by `vitst_utils.export`): only what stylising
  needs: encoder + decoder weights (fp32 or fp16), config and a prototype;
- a bare state dict saved the seed's way (`nn.DataParallel(model).state_dict()`), read as the
  `seed` architecture.

Neither carries the VGG19 of the losses (the training step's: `losses.loss_net`). The seed's
state dicts and vitst checkpoints written before issue 19 do (`vgg_loss_net.*`, 80 MB):
`split_loss_net` is the one place that takes those keys apart, so such files still load, and
resume and evaluate with the VGG19 they carry.

A prototype is `{"mean": (C,), "std": (C,), "count": int}`: the mean AdaIN statistics of the
anime domain (see `prototype.build_prototype`).
"""

from __future__ import annotations

import logging
import pickle
import random
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .config import TrainConfig
from .model import ViTStyleTransfer, build_model
from .presets import get_preset
from .rundir import list_checkpoints, read_config, write_atomic

log = logging.getLogger(__name__)

FORMAT = "vitst-checkpoint"
SLIM_FORMAT = "vitst-slim"
PROTOTYPE_FORMAT = "vitst-prototype"  # a prototype file (inference); known here to say so
LEGACY_LOSS_NET = "vgg_loss_net."  # the VGG19 inside the generator of older files


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


def save_checkpoint(
    path: str | Path, model: nn.Module, cfg: TrainConfig, epoch: int, **state: Any
) -> Path:
    """Write model weights, config, epoch and any extra training `state` atomically
    (`rundir.write_atomic`): a crash never leaves a broken file."""
    payload = {
        "format": FORMAT,
        "model": strip_prefix(unwrap(model).state_dict()),
        "config": cfg.to_dict(),
        "epoch": int(epoch),
        **state,
    }
    return write_atomic(path, lambda f: torch.save(payload, f))


def _is_state_dict(obj: Any) -> bool:
    return (
        isinstance(obj, dict)
        and bool(obj)
        and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items())
    )


# What a file that is not a torch file looks like, from its first bytes (for the error).
_MAGIC = (
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"\x89PNG", "a PNG image"),
    (b"GIF8", "a GIF image"),
    (b"RIFF", "a WebP image (or another RIFF file)"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"{", "JSON text"),
)
NOT_A_CHECKPOINT_FIX = (
    "Expected a training checkpoint (runs/<preset>/checkpoints/epoch_XXX.pt), a slim export "
    "(export.py) or a state dict saved by the seed notebook."
)


def _looks_like(path: Path, head: bytes) -> str:
    if path.suffix.lower() == ".onnx":
        return "an ONNX model (run it with onnxruntime, not with vitst)"
    for magic, what in _MAGIC:
        if head.startswith(magic):
            return what
    if head and all(32 <= b < 127 or b in b"\t\r\n" for b in head):
        return "a text file"
    return "not a file torch.save writes"


def _check_torch_file(path: Path) -> None:
    """torch.save writes a zip archive (or, in the old format, a pickle): refuse anything else
    by name before torch.load reports it as a pickle problem."""
    with open(path, "rb") as f:
        head = f.read(16)
    if not head:
        raise CheckpointError(
            f"{path} is not a checkpoint: the file is empty. {NOT_A_CHECKPOINT_FIX}"
        )
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")) or head[:1] == b"\x80":
        return
    raise CheckpointError(
        f"{path} is not a checkpoint: it looks like {_looks_like(path, head)}. "
        f"{NOT_A_CHECKPOINT_FIX}"
    )


def load_checkpoint(path: str | Path, map_location: Any = "cpu") -> dict[str, Any]:
    """Read a checkpoint as data: a training checkpoint or a slim export as they are; a
    seed-style bare state dict wrapped as
    `{"model": ..., "config": seed config, "epoch": None, "legacy": True}`."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"No checkpoint file at {path}")
    _check_torch_file(path)
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
    fmt = obj.get("format") if isinstance(obj, dict) else None
    if fmt in (FORMAT, SLIM_FORMAT):
        return obj
    if fmt == PROTOTYPE_FORMAT:
        raise CheckpointError(
            f"{path} is a style prototype, not a checkpoint: give it as the prototype, and a "
            "checkpoint as the model"
        )
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


def split_loss_net(
    state: dict[str, torch.Tensor],
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor] | None]:
    """(the generator's weights, the VGG19 loss net's or None) of a state dict (`module.`
    prefixes stripped): older files carried the VGG19 inside the generator."""
    state = strip_prefix(state)
    prefix = LEGACY_LOSS_NET
    vgg = {k.removeprefix(prefix): v for k, v in state.items() if k.startswith(prefix)}
    return {k: v for k, v in state.items() if not k.startswith(prefix)}, vgg or None


def model_from_checkpoint(
    ckpt: dict[str, Any], source: str | Path = "", map_location: str | torch.device = "cpu"
) -> tuple[ViTStyleTransfer, TrainConfig]:
    """The model of a checkpoint read by `load_checkpoint`, in fp32 and eval mode (a VGG19
    the file carries is left out: see `split_loss_net`)."""
    cfg = TrainConfig.from_dict(ckpt["config"])
    model = build_model(cfg, use_weights=False)
    load_state(model, split_loss_net(ckpt["model"])[0], source)  # into fp32 (fp16 slim files too)
    return model.to(map_location).eval(), cfg


def load_model(
    path: str | Path, map_location: str | torch.device = "cpu"
) -> tuple[ViTStyleTransfer, TrainConfig]:
    """Rebuild the model from the file alone (no downloads), fp32, in eval mode. Reads
    training checkpoints, slim exports and seed state dicts."""
    return model_from_checkpoint(load_checkpoint(path, map_location), path, map_location)


def run_config(run_dir: str | Path | None, path: str | Path | None = None) -> TrainConfig | None:
    """The config a run (or a checkpoint file) trained with, the one reader: the run folder's
    config.json, else the file's own (read without its tensors), a seed state dict's being the
    seed preset's; None when neither reads."""
    cfg = read_config(run_dir)
    if cfg is not None or path is None:
        return cfg
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        if isinstance(obj, dict) and isinstance(obj.get("config"), dict):
            return TrainConfig.from_dict(obj["config"])
        return get_preset("seed") if _is_state_dict(obj) else None
    except Exception:  # unreadable: the caller reports the file when it loads it
        return None


def rng_state() -> dict[str, Any]:
    """This process's random generators (torch, python, every GPU), for an exact resume."""
    state = {"torch": torch.get_rng_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"][: torch.cuda.device_count()])


def latest_checkpoint(run_dir: str | Path) -> dict[str, Any] | None:
    """The newest checkpoint of a run that reads back (with its `path`); a broken newer file is
    reported and passed over. None when there is none."""
    for _, path in reversed(list_checkpoints(run_dir)):
        try:
            state = load_checkpoint(path)
            state["path"] = path
            return state
        except CheckpointError as e:
            log.warning("skipping unreadable checkpoint: %s", e)
    return None
