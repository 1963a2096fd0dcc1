"""Prototypes: the anime domain's mean AdaIN statistics, so a photo becomes anime with no
style image to choose. Built from style images (`build_prototype`) or, by training, from its
style images (`training_prototype`, stored in every checkpoint), saved as a small file, and
checked against the encoder it is used with (its statistics mean nothing for another one).

A prototype is `{"mean": (C,), "std": (C,), "count": int}`, with (files) `format`, `encoder`
(`encoder_signature`), `image_size`, `source` and `skipped`; a cel model's also holds `cel`:
the colour statistics, palette, ink colour and ink length of the medoid drawing (`{"mean": (3,),
"std": (3,), "palette": (K, 3), "ink_colour": (3,), "ink_length": ()}`, `CelStyle.item`; one made
before the ink colour inks in the darkest, one before the ink length is never simplified), and
for a model with `cel_match="histogram"` its colour quantiles (`"quantiles": (3, Q)`), for one
with `cel_tone` > 0 its luma quantiles (`"tones": (1, Q)`; one made before them is refused, with
the command that builds it again).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader

from .checkpoint import PROTOTYPE_FORMAT
from .config import TrainConfig
from .data import ImageFolderDataset, build_transform, chunks, gather_images, image_batch
from .function import fp16_on_cuda
from .model import ViTStyleTransfer
from .rundir import write_atomic


class PrototypeError(ValueError):
    """A prototype that cannot be read, or was built for another encoder."""


def _device(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


def encoder_signature(model: ViTStyleTransfer) -> dict[str, Any]:
    """What a prototype's statistics depend on: the encoder's name, options, fused blocks and
    its feature channels (read from `model.encode`)."""
    p = model.patch_size
    with torch.no_grad():
        channels = model.encode(torch.zeros(1, 3, p, p, device=_device(model))).shape[1]
    return {
        "vit_name": model.vit_name,
        "vit_kwargs": dict(model.vit_kwargs),
        "vit_layers": list(model.vit_layers),
        "channels": int(channels),
    }


def build_prototype(
    model: ViTStyleTransfer,
    styles: str | Path | Sequence[str | Path],
    batch_size: int = 16,
    limit: int | None = None,
) -> dict[str, Any]:
    """The anime domain's prototype: the per-channel mean and std of `model.encode(style)`
    averaged over the style images in `styles` (files and/or folders; at most `limit`), as
    training computes it (`model.style_prototype`), with what it was built from and for.
    Unreadable files are skipped and listed in `skipped`."""
    paths, skipped = gather_images(styles)
    if limit is not None:
        paths = paths[:limit]
    if not paths:
        raise ValueError(f"no usable style image in {styles} to build a prototype from")
    dev, size = _device(model), model.image_size
    batches = (image_batch(chunk, size).to(dev) for chunk in chunks(paths, batch_size, "prototype"))
    with fp16_on_cuda(dev):
        stats = model.style_prototype(batches)
    sources = [styles] if isinstance(styles, (str, Path)) else list(styles)
    return {
        **stats,
        "format": PROTOTYPE_FORMAT,
        "mean": stats["mean"].float().cpu(),
        "std": stats["std"].float().cpu(),
        "count": int(stats["count"]),
        "encoder": encoder_signature(model),
        "image_size": model.image_size,
        "source": ", ".join(str(s) for s in sources),
        "skipped": [f"{p}: {reason}" for p, reason in skipped],
    }


def save_prototype(prototype: dict[str, Any], path: str | Path) -> Path:
    """Write a prototype file (a small dict of tensors and plain data, weights_only-loadable)."""
    return write_atomic(path, lambda f: torch.save({**prototype, "format": PROTOTYPE_FORMAT}, f))


def check_prototype(
    prototype: dict[str, Any], model: ViTStyleTransfer, source: str | Path = "the prototype"
) -> None:
    """Refuse a prototype built with another encoder (its statistics would mean nothing here)."""
    mine = encoder_signature(model)
    theirs = prototype.get("encoder")
    n = prototype["mean"].numel()
    if n != mine["channels"] or (theirs is not None and theirs != mine):
        desc = theirs or {"channels": n}
        raise PrototypeError(
            f"{source} was built with another encoder ({desc}); this model's is {mine}: build a "
            "prototype with this model's encoder"
        )
    if getattr(model, "is_cel", False):
        cel = prototype.get("cel")
        if not isinstance(cel, dict) or "palette" not in cel:
            raise PrototypeError(
                f"{source} has no palette, and this model paints with one (output_space='cel'):"
                " build it again for this checkpoint (inference --checkpoint C --style DIR"
                " --save-prototype FILE)"
            )
        if cel["palette"].shape != (model.cel_colors, 3):
            raise PrototypeError(
                f"{source} has a palette of {tuple(cel['palette'].shape)}, this model paints "
                f"with {model.cel_colors} colours: build the prototype with this model"
            )
        if ("quantiles" in cel) != (model.cel_match == "histogram"):
            has = "has" if "quantiles" in cel else "has no"
            raise PrototypeError(
                f"{source} {has} colour quantiles, and this model matches colours by "
                f"{model.cel_match}: build it again for this checkpoint (inference --checkpoint C"
                " --style DIR --save-prototype FILE)"
            )
        if "tones" not in cel and model.cel_tone > 0:
            raise PrototypeError(
                f"{source} has no tones (saved before tone matching, or for a model without it), "
                f"and this model moves a picture's light and dark {model.cel_tone} of the way to "
                "them: build it again for this checkpoint (inference --checkpoint C --style DIR "
                "--save-prototype FILE)"
            )


def load_prototype(path: str | Path, model: ViTStyleTransfer | None = None) -> dict[str, Any]:
    """Read a prototype file as data, checked against `model`'s encoder when given."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such prototype file")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise PrototypeError(f"{path} is not a prototype file: {type(e).__name__}: {e}") from e
    if not isinstance(obj, dict) or obj.get("format") != PROTOTYPE_FORMAT:
        what = "a checkpoint" if isinstance(obj, dict) and "model" in obj else "not one"
        raise PrototypeError(f"{path} is not a prototype file ({what})")
    if model is not None:
        check_prototype(obj, model, path)
    return obj


def checkpoint_prototype(ckpt: dict[str, Any]) -> dict[str, Any] | None:
    """The prototype stored in a checkpoint (training runs and slim exports), or None."""
    proto = ckpt.get("prototype")
    if isinstance(proto, dict) and "mean" in proto and "std" in proto:
        return proto
    return None


def training_prototype(
    model: ViTStyleTransfer,
    style_files: Sequence[Path],
    cfg: TrainConfig,
    device: torch.device,
    amp: bool,
) -> dict[str, Any]:
    """The prototype a training checkpoint carries: `model.style_prototype` over up to
    `cfg.prototype_images` training style images, evenly spread, with the evaluation transform
    (the model is left in train mode)."""
    files = list(style_files)
    if cfg.prototype_images and len(files) > cfg.prototype_images:
        files = [files[i * len(files) // cfg.prototype_images] for i in range(cfg.prototype_images)]
    ds = ImageFolderDataset.from_files(files, build_transform(cfg.image_size, train=False))
    batches = DataLoader(ds, batch_size=cfg.batch_size, num_workers=cfg.num_workers)
    model.eval()
    with torch.autocast(device.type, dtype=torch.float16, enabled=amp):
        proto = model.style_prototype(b.to(device) for b in batches)
    model.train()
    return proto
