"""Inference: stylise your own photos with a checkpoint, whole frame at any size.

    python -m vitst_utils.inference --checkpoint C --content photo.jpg my_photos/
    python -m vitst_utils.inference --checkpoint C --content photo.jpg --style anime.png \\
        --alpha 0.8 --preserve-color --size original
    python -m vitst_utils.inference --checkpoint C --content photo.jpg \\
        --style a.png b.png --style-weights 3 1
    python -m vitst_utils.inference --checkpoint C --style anime_folder/ --save-prototype p.pt
    python -m vitst_utils.inference --checkpoint C --content photos/ --prototype p.pt --face-crop

Writes `<photo>_x_<style>.png` per photo into --out (never over an input). The style is,
in this order: the --style images (several are blended, equal weights unless --style-weights),
a --prototype file, or the prototype stored in the checkpoint. A prototype is the anime
domain's mean AdaIN statistics, so a photo becomes anime with no style image to choose.

Sizes: the output shows the whole photo at its aspect ratio, short side --size (default: the
checkpoint's training size) or `original` (the photo's own pixels). Inside, the photo is padded
(reflection) to a multiple of the ViT's patch and the result cropped back; photos over twice the
training size's tokens are encoded in overlapping training-size windows and decoded in tiles, at
a cost linear in pixels (tiling.py). --cpu-path picks how the CPU runs (cpu_paths.py). Style
images are always read the way training saw them (short side to the training size, centre
crop), so their statistics match the prototype's.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from tqdm.auto import tqdm

from .checkpoint import (
    PROTOTYPE_FORMAT,
    CheckpointError,
    load_checkpoint,
    model_from_checkpoint,
)
from .config import TrainConfig
from .cpu_paths import CPU_PATHS, inference_path
from .data import ImageSkipped, build_transform, load_image, scan_folder, to_pil
from .face import Detector, FaceDetectorUnavailable, crop_face, face_detector
from .function import (
    adain_from_stats,
    adaptive_instance_normalization,
    calc_mean_std,
    coral,
    luminance_transfer,
    normalize,
    to_pixels,
)
from .model import ViTStyleTransfer
from .rundir import write_atomic
from .tiling import Tiling, stylize_tiled

log = logging.getLogger(__name__)

Size = int | str | None  # short side in pixels, "original", or None (the training size)
T = TypeVar("T")


class UsageError(ValueError):
    """Bad input from the user: the CLI prints it as one line and exits 2."""


def image_tensor(path: str | Path | Image.Image, image_size: int) -> torch.Tensor:
    """One image -> a normalised (1, 3, S, S) batch (the seed's eval transform: short side to
    S, centre crop). Style images are always read this way, as training saw them."""
    image = path if isinstance(path, Image.Image) else load_image(path)
    return build_transform(image_size, train=False)(image).unsqueeze(0)


def _images(paths: Iterable[str | Path | Image.Image], image_size: int) -> torch.Tensor:
    return torch.cat([image_tensor(p, image_size) for p in paths])


def _chunks(items: Sequence[T], size: int, desc: str) -> Iterator[Sequence[T]]:
    """`items` in slices of `size`, with a progress bar from three slices up."""
    starts = range(0, len(items), size)
    for start in tqdm(starts, desc=desc, unit="batch", disable=len(starts) < 3):
        yield items[start : start + size]


def _device(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


def _autocast(device: torch.device) -> contextlib.AbstractContextManager:
    """fp16 autocast on CUDA (the T4's tensor cores); fp32 elsewhere."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.float16)
    return contextlib.nullcontext()


@torch.no_grad()
def stylize(model: ViTStyleTransfer, content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
    """Generated images for normalised (B, 3, S, S) content and style batches (on CPU)."""
    model.eval()
    dev = _device(model)
    return model(content.to(dev), style.to(dev)).float().cpu()


# --- whole frame, any size --------------------------------------------------------------------
def parse_size(text: str | int | None) -> Size:
    """`--size`: a short side in pixels, "original", or None (the checkpoint's training size)."""
    if text is None:
        return None
    if isinstance(text, str):
        if text.lower() == "original":
            return "original"
        try:
            text = int(text)
        except ValueError:
            raise UsageError(
                f"--size takes a number of pixels or 'original', got {text!r}"
            ) from None
    if text < 1:
        raise UsageError(f"--size must be a positive number of pixels or 'original', got {text}")
    return text


def output_size(width: int, height: int, size: Size) -> tuple[int, int]:
    """(width, height) of the output: the short side scaled to `size` at the same aspect
    ratio, or the photo's own size for "original" / None."""
    if size is None or size == "original":
        return width, height
    if width <= height:
        return size, max(1, round(height * size / width))
    return max(1, round(width * size / height)), size


def photo_tensor(image: Image.Image, size: Size) -> torch.Tensor:
    """A whole photo as a normalised (1, 3, h, w) batch, short side resized to `size` (PIL
    bilinear with antialiasing, as the training Resize); no crop."""
    w, h = output_size(*image.size, size)
    if (w, h) != image.size:
        image = image.resize((w, h), Image.BILINEAR)
    x = torch.from_numpy(np.asarray(image, dtype=np.float32) / 255.0).permute(2, 0, 1)
    return normalize(x).unsqueeze(0)


def pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Pad (B, C, H, W) on the right and bottom to multiples of `multiple`: reflection, or
    replication for an image smaller than the pad. Under export (symbolic sizes) always
    reflection, so the ONNX graph takes any size from one patch up."""
    h, w = x.shape[-2:]
    pad = (0, (multiple - w % multiple) % multiple, 0, (multiple - h % multiple) % multiple)
    if isinstance(h, int) and isinstance(w, int):
        if not any(pad):
            return x
        if pad[1] >= w or pad[3] >= h:
            return F.pad(x, pad, mode="replicate")
    return F.pad(x, pad, mode="reflect")


def transfer(
    model: ViTStyleTransfer,
    photos: torch.Tensor,
    mean: torch.Tensor,
    std: torch.Tensor,
    alpha: float = 1.0,
    tiling: Tiling | None = None,
) -> torch.Tensor:
    """The stylised photos: decode(alpha * AdaIN(f, mean, std) + (1 - alpha) * f), f = encode.

    `photos`: normalised (B, 3, H, W), any H and W (padded to the patch multiple and cropped
    back); `mean`, `std`: the target statistics, (1 | B, C, 1, 1). `alpha` is pytorch-AdaIN's
    (`test.py`, `style_transfer`: `feat = feat * alpha + content_f * (1 - alpha)`): 0 decodes
    the photo's own features, 1 is plain AdaIN. Returns normalised (B, 3, H, W). Large photos
    go through `tiling.stylize_tiled` (windows of the training size, global statistics, tiled
    decode: linear cost); the model's `inference_path` (see `use_inference_path`), if any,
    runs the encoder and decoder. Under export: one pass over the whole photo."""
    h, w = photos.shape[-2:]
    x = pad_to_multiple(photos, model.patch_size)
    if torch.compiler.is_exporting():
        feat = model.encode(x).float()
        target = adain_from_stats(feat, mean.to(feat), std.to(feat)) if alpha else feat
        if 0 < alpha < 1:
            target = alpha * target + (1 - alpha) * feat
        return model.decode(target)[..., :h, :w]
    path = getattr(model, "inference_path", None)
    enc, dec = (path.encode, path.decode) if path is not None else (None, None)
    return stylize_tiled(model, x, mean, std, alpha, tiling, enc, dec)[..., :h, :w]


def use_inference_path(model: ViTStyleTransfer, name: str | None = "auto") -> ViTStyleTransfer:
    """Run `model`'s stylising on CPU path `name` (`cpu_paths.CPU_PATHS`; "auto": the default
    for this CPU; None: plain eager, fp16 autocast on CUDA). A CUDA model keeps fp16 autocast."""
    model.inference_path = None
    if name is not None and _device(model).type == "cpu":
        model.inference_path = inference_path(model, name)
    return model


# --- style targets: images, blends, prototypes -------------------------------------------------
@dataclass
class StyleTarget:
    """What photos are stylised towards: AdaIN statistics (1, C, 1, 1) and where they came
    from. `images` (normalised (K, 3, S, S)) and `weights` (K,) are kept for style images, so
    `coral` colour matching can redo them per photo."""

    mean: torch.Tensor
    std: torch.Tensor
    name: str
    images: torch.Tensor | None = None
    weights: torch.Tensor | None = None


def style_weights(weights: Sequence[float] | None, n: int) -> torch.Tensor:
    """Blend weights for `n` styles, summing to 1: equal when None, else `weights / sum` as
    pytorch-AdaIN's `--style_interpolation_weights`."""
    if weights is None:
        return torch.full((n,), 1.0 / n)
    if len(weights) != n:
        raise UsageError(
            f"--style-weights: {len(weights)} weight(s) for {n} style image(s): pass one weight "
            "per --style image, in the same order"
        )
    w = torch.tensor([float(x) for x in weights], dtype=torch.float64)
    if (w < 0).any() or not torch.isfinite(w).all() or w.sum() <= 0:
        raise UsageError(
            f"--style-weights must be non-negative numbers, not all zero; got {list(weights)}"
        )
    return (w / w.sum()).float()


@torch.no_grad()
def feature_stats(model: ViTStyleTransfer, images: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Per-image AdaIN statistics (mean, std), each (B, C, 1, 1) fp32, of normalised images."""
    dev = _device(model)
    with _autocast(dev):
        feat = model.encode(images.to(dev))
    return calc_mean_std(feat.float())


def _blend(
    mean: torch.Tensor, std: torch.Tensor, weights: torch.Tensor
) -> tuple[torch.Tensor, ...]:
    """Weighted statistics: sum_k w_k * (mean_k, std_k). Since AdaIN is linear in the target
    statistics, this equals pytorch-AdaIN's interpolation (the weighted sum of AdaIN(c, s_k)
    features, `test.py` `style_transfer`)."""
    w = weights.to(mean).view(-1, 1, 1, 1)
    return (mean * w).sum(0, keepdim=True), (std * w).sum(0, keepdim=True)


def style_target(
    model: ViTStyleTransfer,
    styles: Sequence[str | Path | Image.Image],
    weights: Sequence[float] | None = None,
    name: str | None = None,
) -> StyleTarget:
    """The target of one style image, or of several blended with `weights` (see
    `style_weights`): weights (1, 0) give exactly the first style."""
    if not styles:
        raise UsageError("style_target() needs at least one style image")
    w = style_weights(weights, len(styles))
    images = _images(styles, model.image_size)
    mean, std = _blend(*feature_stats(model, images), w)
    if name is None:
        name = "+".join(Path(s).stem if not isinstance(s, Image.Image) else "style" for s in styles)
    return StyleTarget(mean.cpu(), std.cpu(), name, images, w)


def target_from_prototype(prototype: dict[str, Any], name: str = "prototype") -> StyleTarget:
    """A `StyleTarget` from a prototype dict (`{"mean": (C,), "std": (C,), ...}`)."""
    mean = prototype["mean"].float().reshape(1, -1, 1, 1)
    std = prototype["std"].float().reshape(1, -1, 1, 1)
    return StyleTarget(mean, std, name)


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
        raise UsageError(f"no usable style image in {styles} to build a prototype from")
    dev, size = _device(model), model.image_size
    batches = (_images(chunk, size).to(dev) for chunk in _chunks(paths, batch_size, "prototype"))
    with _autocast(dev):
        stats = model.style_prototype(batches)
    sources = [styles] if isinstance(styles, (str, Path)) else list(styles)
    return {
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
    fix = "build one for this checkpoint: --checkpoint C --style DIR --save-prototype FILE"
    if n != mine["channels"] or (theirs is not None and theirs != mine):
        desc = theirs or {"channels": n}
        raise UsageError(
            f"{source} was built with another encoder ({desc}); this checkpoint's is {mine}: {fix}"
        )


def load_prototype(path: str | Path, model: ViTStyleTransfer | None = None) -> dict[str, Any]:
    """Read a prototype file as data, checked against `model`'s encoder when given."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"--prototype {path} does not exist (build one with --save-prototype)")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise UsageError(f"{path} is not a prototype file: {type(e).__name__}: {e}") from e
    if not isinstance(obj, dict) or obj.get("format") != PROTOTYPE_FORMAT:
        what = "a checkpoint" if isinstance(obj, dict) and "model" in obj else "not one"
        raise UsageError(
            f"{path} is not a prototype file ({what}): pass a file written by --save-prototype"
        )
    if model is not None:
        check_prototype(obj, model, path)
    return obj


def checkpoint_prototype(ckpt: dict[str, Any]) -> dict[str, Any] | None:
    """The prototype stored in a checkpoint (training runs and slim exports), or None."""
    proto = ckpt.get("prototype")
    if isinstance(proto, dict) and "mean" in proto and "std" in proto:
        return proto
    return None


def prepare_for_inference(model: ViTStyleTransfer) -> ViTStyleTransfer:
    """Eval mode, no gradients, and the convolutional decoder in channels_last (the seed's
    decoder ran 10-25 % faster so on a 2-core CPU; on CUDA it suits fp16 tensor cores)."""
    model.eval().requires_grad_(False)
    model.decoder.to(memory_format=torch.channels_last)
    return model


def load_for_inference(
    path: str | Path, device: str | torch.device = "cpu", cpu_path: str | None = "auto"
) -> tuple[ViTStyleTransfer, TrainConfig, dict[str, Any] | None]:
    """The model of a checkpoint (`prepare_for_inference`d, on
    `cpu_path` when on the CPU: see `use_inference_path`), its config and its stored prototype
    (None for older checkpoints and seed state dicts); the file is read once."""
    ckpt = load_checkpoint(path, device)
    model, cfg = model_from_checkpoint(ckpt, path, device)
    use_inference_path(prepare_for_inference(model), cpu_path)
    proto = checkpoint_prototype(ckpt)
    if proto is not None:
        proto = {k: v.cpu() if isinstance(v, torch.Tensor) else v for k, v in proto.items()}
        check_prototype(proto, model, f"the prototype stored in {path}")
    return model, cfg, proto


NO_PROTOTYPE_FIX = (
    "pass --style FILE ... (anime images) or --prototype FILE (build one once with "
    "--checkpoint C --style DIR --save-prototype FILE)"
)


# --- stylising photos ---------------------------------------------------------------------------
COLOR_METHODS = ("auto", "luminance", "coral")


def resolve_color_method(preserve_color: bool | str | None, target: StyleTarget) -> str | None:
    """None (no colour preservation), "luminance" or "coral". True / "auto" picks coral when
    the target has style images (pytorch-AdaIN's `--preserve_color`) and luminance-only
    transfer with a prototype, which has no image to colour-match."""
    if not preserve_color:
        return None
    method = "auto" if preserve_color is True else str(preserve_color)
    if method not in COLOR_METHODS:
        raise UsageError(f"--preserve-color takes {'|'.join(COLOR_METHODS)}, got {method!r}")
    if method == "auto":
        return "coral" if target.images is not None else "luminance"
    if method == "coral" and target.images is None:
        raise UsageError(
            "--preserve-color coral colour-matches the style images to the photo, and a "
            "prototype has none: use --preserve-color luminance (or pass --style images)"
        )
    return method


@torch.no_grad()
def _coral_stats(
    model: ViTStyleTransfer, photos: torch.Tensor, target: StyleTarget
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per photo: the style images colour-matched to it (coral), encoded, blended."""
    means, stds = [], []
    style_pixels = to_pixels(target.images).clamp(0, 1)
    for photo in to_pixels(photos).clamp(0, 1):
        matched = torch.stack([coral(s, photo).clamp(0, 1) for s in style_pixels])
        mean, std = _blend(*feature_stats(model, normalize(matched)), target.weights)
        means.append(mean)
        stds.append(std)
    return torch.cat(means), torch.cat(stds)


@torch.no_grad()
def stylize_batch(
    model: ViTStyleTransfer,
    photos: torch.Tensor,
    target: StyleTarget,
    alpha: float = 1.0,
    preserve_color: bool | str | None = None,
) -> torch.Tensor:
    """Stylise normalised photos (B, 3, H, W) of one size towards `target`; normalised CPU
    result of the same size, at a cost linear in pixels (`transfer`). fp16 autocast on CUDA;
    on the CPU the model's `inference_path` (fp32 without one)."""
    if not 0 <= alpha <= 1:
        raise UsageError(f"alpha must be between 0 and 1, got {alpha}")
    method = resolve_color_method(preserve_color, target)
    model.eval()
    dev = _device(model)
    if method == "coral":
        mean, std = _coral_stats(model, photos, target)
    else:
        mean, std = target.mean, target.std
    with _autocast(dev):
        out = transfer(model, photos.to(dev), mean.to(dev), std.to(dev), alpha)
    out = out.float().cpu()
    if method == "luminance":
        out = luminance_transfer(to_pixels(out).clamp(0, 1), to_pixels(photos).clamp(0, 1))
        out = normalize(out)
    return out


def stylize_image(
    model: ViTStyleTransfer,
    photo: str | Path | Image.Image,
    target: StyleTarget,
    size: Size = None,
    alpha: float = 1.0,
    preserve_color: bool | str | None = None,
    face_crop: bool = False,
    detector: Detector | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One photo, whole frame (or its face crop): (photo as stylised, result), both
    normalised (3, h, w). `size`: short side (None: the training size) or "original"."""
    image = photo if isinstance(photo, Image.Image) else load_image(photo)
    if face_crop:
        image, _ = crop_face(image, detector)
    x = photo_tensor(image, model.image_size if size is None else size)
    return x[0], stylize_batch(model, x, target, alpha, preserve_color)[0]


@dataclass
class StylizeReport:
    """What `stylize_files` did: (photo, output) in input order, skipped files with reasons,
    and the photos in which no face was found (stylised whole instead)."""

    outputs: list[tuple[Path, Path]] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    no_face: list[Path] = field(default_factory=list)


def _safe_name(out_dir: Path, stem: str, taken: set[Path]) -> Path:
    """`out_dir/stem.png`, or `stem_2.png`, `stem_3.png` ... when that path is `taken`."""
    path, k = out_dir / f"{stem}.png", 2
    while path.resolve() in taken:
        path, k = out_dir / f"{stem}_{k}.png", k + 1
    taken.add(path.resolve())
    return path


Indexed = tuple[int, torch.Tensor]  # (position in the input, normalised (1, 3, h, w) photo)


def _read_photos(
    photos: Sequence[Path],
    size: Size,
    detector: Detector | None,
    report: StylizeReport,
    progress: bool,
) -> Iterator[Indexed]:
    """The readable photos as tensors (face-cropped when there is a `detector`); unreadable
    files and faceless photos go to `report`."""
    bar = tqdm(photos, desc="stylising", unit="photo", disable=not progress or len(photos) < 2)
    for i, path in enumerate(bar):
        try:
            image = load_image(path)
        except (ImageSkipped, OSError) as e:
            report.skipped.append((path, getattr(e, "reason", str(e))))
            continue
        if detector is not None:
            image, face = crop_face(image, detector)
            if face is None:
                report.no_face.append(path)
        yield i, photo_tensor(image, size)


def _same_size_batches(photos: Iterable[Indexed], batch_size: int) -> Iterator[list[Indexed]]:
    """Batches of photos of one size: a size's batch goes as soon as it is full, and every
    waiting batch once 2 x batch_size photos wait in all (memory stays bounded)."""
    pending: dict[tuple[int, ...], list[Indexed]] = {}
    for i, x in photos:
        key = tuple(x.shape[-2:])
        pending.setdefault(key, []).append((i, x))
        if len(pending[key]) >= batch_size:
            yield pending.pop(key)
        elif sum(map(len, pending.values())) >= 2 * batch_size:
            yield from (pending.pop(k) for k in list(pending))
    yield from (pending.pop(k) for k in list(pending))


def stylize_files(
    model: ViTStyleTransfer,
    photos: Sequence[str | Path],
    target: StyleTarget,
    out_dir: str | Path,
    size: Size = None,
    alpha: float = 1.0,
    preserve_color: bool | str | None = None,
    face_crop: bool = False,
    batch_size: int = 8,
    detector: Detector | None = None,
    protect: Iterable[str | Path] = (),
    progress: bool = True,
) -> StylizeReport:
    """Stylise photo files into `out_dir` as `<photo>_x_<target.name>.png`, whole frame.

    Photos of the same output size are batched (`batch_size`, fp16 on CUDA); photos of other
    sizes wait in their own group, and every group is flushed once 2 x batch_size photos are
    waiting, so memory stays bounded. A file that cannot be read is skipped and reported, as
    is a photo without a face under `face_crop` (stylised whole). An output never replaces a
    photo, a file in `protect` or another output of the run: it gets a `_2`, `_3` ... suffix."""
    resolve_color_method(preserve_color, target)  # bad options fail before any work
    if face_crop and detector is None:
        detector = face_detector()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    photos = [Path(p) for p in photos]
    taken = {Path(p).resolve() for p in [*photos, *protect]}
    report = StylizeReport()
    size = model.image_size if size is None else size
    read = _read_photos(photos, size, detector if face_crop else None, report, progress)
    done: dict[int, Path] = {}
    for group in _same_size_batches(read, batch_size):
        batch = torch.cat([x for _, x in group])
        result = stylize_batch(model, batch, target, alpha, preserve_color)
        for (i, _), image in zip(group, result, strict=True):
            done[i] = _safe_name(out, f"{photos[i].stem}_x_{target.name}", taken)
            to_pil(image).save(done[i])
    report.outputs = [(photos[i], done[i]) for i in sorted(done)]
    return report


# --- notebooks: many pairs at once ------------------------------------
def gather_images(
    sources: str | Path | Sequence[str | Path] | None,
) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Usable image files from files and folders, and the (path, reason) of those skipped.

    `sources`: a list of paths, or one string of paths joined by os.pathsep (as in an
    environment variable); folders contribute their images (flat, as `scan_folder`). A path
    that does not exist is an error (a typo must not pass silently); None or empty gives [].
    """
    if sources is None:
        return [], []
    if isinstance(sources, str):
        items: list[str | Path] = [s for s in sources.split(os.pathsep) if s.strip()]
    elif isinstance(sources, Path):
        items = [sources]
    else:
        items = list(sources)
    good: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    for item in items:
        path = Path(item).expanduser()
        if not path.exists():
            raise FileNotFoundError(f"Your image {path} does not exist (check the path)")
        if path.is_dir():
            g, s = scan_folder(path)
            good += g
            skipped += s
            continue
        try:
            load_image(path)
            good.append(path)
        except ImageSkipped as e:
            skipped.append((path, e.reason))
    return list(dict.fromkeys(good)), skipped


@dataclass
class StylizedPairs:
    """Normalised (N, 3, S, S) CPU batches of what went in and came out, and the saved files."""

    content: torch.Tensor
    style: torch.Tensor
    generated: torch.Tensor
    paths: list[Path]


def stylize_pairs(
    model: ViTStyleTransfer,
    pairs: Sequence[tuple[str | Path, str | Path]],
    out_dir: str | Path | None = None,
    batch_size: int = 8,
) -> StylizedPairs:
    """Stylise (content file, style file) pairs in batches, both centre-cropped to the model's
    size as in validation; with `out_dir`, also save each result as `<content>_x_<style>.png`
    (a repeated name gets a `_2`, `_3` ... suffix). For whole photos, see `stylize_files`."""
    pairs = [(Path(c), Path(s)) for c, s in pairs]
    if not pairs:
        raise ValueError("stylize_pairs() needs at least one (content, style) pair")
    size = model.image_size
    out = Path(out_dir) if out_dir is not None else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    cs, ss, gs, written, taken = [], [], [], [], set()
    for chunk in _chunks(pairs, batch_size, "stylising"):
        c, s = _images([p for p, _ in chunk], size), _images([p for _, p in chunk], size)
        g = stylize(model, c, s)
        cs.append(c)
        ss.append(s)
        gs.append(g)
        if out is not None:
            for (cp, sp), image in zip(chunk, g, strict=True):
                written.append(_safe_name(out, f"{cp.stem}_x_{sp.stem}", taken))
                to_pil(image).save(written[-1])
    return StylizedPairs(torch.cat(cs), torch.cat(ss), torch.cat(gs), written)


def stylize_matrix(
    model: ViTStyleTransfer, content: torch.Tensor, style: torch.Tensor
) -> torch.Tensor:
    """Every content in every style: (C, S, 3, H, W) from normalised (C, ...) and (S, ...)."""
    n_s = style.shape[0]
    return torch.stack([stylize(model, c.expand(n_s, -1, -1, -1), style) for c in content])


# --- speed --------------------------------------------------------------------------------------
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
    dev = torch.device(device) if device is not None else _device(model)
    model = prepare_for_inference(model.to(dev))
    gen = torch.Generator().manual_seed(0)
    content = torch.randn(1, 3, image_size, image_size, generator=gen).to(dev)
    style = torch.randn(1, 3, image_size, image_size, generator=gen).to(dev)
    with _autocast(dev):
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
        with _autocast(dev):
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


# --- the CLI ------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m vitst_utils.inference",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--checkpoint",
        required=True,
        help="a training checkpoint, a slim export or a seed state dict",
    )
    p.add_argument("--content", nargs="+", metavar="FILE|DIR", help="photos: files or folders")
    p.add_argument(
        "--style",
        nargs="+",
        metavar="FILE|DIR",
        help="anime image(s); several are blended (their AdaIN statistics interpolated)",
    )
    p.add_argument(
        "--style-weights",
        nargs="+",
        type=float,
        metavar="W",
        help="one weight per --style image (normalised to sum 1; default: equal)",
    )
    p.add_argument("--prototype", metavar="FILE", help="a prototype file (--save-prototype)")
    p.add_argument(
        "--save-prototype",
        metavar="FILE",
        help="average the --style images' statistics into a small prototype file",
    )
    p.add_argument(
        "--alpha",
        type=float,
        default=1.0,
        help="style strength in [0, 1]: 0 decodes the photo's own features, 1 (default) full",
    )
    p.add_argument(
        "--preserve-color",
        nargs="?",
        const="auto",
        choices=COLOR_METHODS,
        help="keep the photo's colours: coral (colour-match the style images to the photo "
        "first; the default with --style) or luminance (keep the photo's chroma; the default "
        "with a prototype)",
    )
    p.add_argument(
        "--size",
        default=None,
        metavar="N|original",
        help="the scale at which the model draws: output short side in pixels (default: the "
        "checkpoint's training size), or 'original' for the photo's own size; the whole frame "
        "is kept; lines keep their width in pixels, so a larger size draws relatively finer",
    )
    p.add_argument(
        "--face-crop",
        action="store_true",
        help="crop the largest face (OpenCV Haar cascade) as the training portraits are framed",
    )
    p.add_argument("--out", default="stylised", help="output folder (default: ./stylised)")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument(
        "--cpu-path",
        default="auto",
        choices=["auto", *CPU_PATHS],
        help="how the CPU runs the networks (default auto: the fastest whose pictures match "
        "fp32 on this CPU; fp32 forces full precision); ignored on CUDA (fp16 autocast)",
    )
    p.add_argument("--batch-size", type=int, default=8, help="photos per batch (same size)")
    return p


def _check_usage(args: argparse.Namespace) -> None:
    """Usage errors that need no model: raised as UsageError / FileNotFoundError."""
    if not 0 <= args.alpha <= 1:
        raise UsageError(
            f"--alpha must be between 0 and 1 (0: the photo's own features, 1: full style), "
            f"got {args.alpha}"
        )
    if args.batch_size < 1:
        raise UsageError(f"--batch-size must be >= 1, got {args.batch_size}")
    if str(args.device).startswith("cuda") and not torch.cuda.is_available():
        raise UsageError(f"--device {args.device}: no CUDA GPU is visible here; use --device cpu")
    args.size = parse_size(args.size)
    if args.style and args.prototype:
        raise UsageError("pass either --style or --prototype, not both")
    if args.style_weights is not None:
        if not args.style:
            raise UsageError("--style-weights needs --style images (one weight per image)")
        folders = [s for s in args.style if Path(s).is_dir()]
        if folders:
            raise UsageError(
                f"--style-weights needs one image file per weight, but {folders[0]} is a folder"
            )
        style_weights(args.style_weights, len(args.style))
    if args.save_prototype and not args.style:
        raise UsageError("--save-prototype needs --style FILE|DIR ... (the anime images)")
    if args.save_prototype and args.style_weights is not None:
        raise UsageError("--style-weights does not apply to --save-prototype (an equal mean)")
    if not args.content and not args.save_prototype:
        raise UsageError("pass --content FILE|DIR ... (the photos to stylise)")
    if args.preserve_color == "coral" and not args.style:
        raise UsageError(
            "--preserve-color coral needs --style images; with a prototype use "
            "--preserve-color luminance"
        )
    for p in _style_inputs(args):
        if not Path(p).exists():
            raise FileNotFoundError(f"{p} does not exist (check the path)")


def _style_inputs(args: argparse.Namespace) -> list[str]:
    """The --style and --prototype paths given."""
    return [*(args.style or []), *([args.prototype] if args.prototype else [])]


def _report(lines: Iterable[str]) -> None:
    for line in lines:
        print(line, file=sys.stderr)


def _cli_target(
    args: argparse.Namespace, model: ViTStyleTransfer, own: dict[str, Any] | None
) -> StyleTarget:
    """The style the CLI stylises towards: the --style images (averaged into a prototype file
    first with --save-prototype), else --prototype, else the checkpoint's own prototype."""
    if args.style:
        styles, skipped = gather_images(args.style)
        _report(f"skipped style {p}: {reason}" for p, reason in skipped)
        if not styles:
            raise FileNotFoundError(f"no usable style image in {' '.join(args.style)}")
        if not args.save_prototype:
            return style_target(model, styles, args.style_weights)
        proto = build_prototype(model, styles)
        saved = save_prototype(proto, args.save_prototype)
        print(f"{saved}: the prototype of {proto['count']} style images")
        return target_from_prototype(proto, Path(args.save_prototype).stem)
    if args.prototype:
        proto = load_prototype(args.prototype, model)
        return target_from_prototype(proto, Path(args.prototype).stem)
    if own is not None:
        return target_from_prototype(own, "anime")
    raise UsageError(f"{args.checkpoint} holds no style prototype: {NO_PROTOTYPE_FIX}")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not logging.getLogger().handlers:  # a CLI: warnings as "warning: ..." lines on stderr
        logging.basicConfig(level=logging.WARNING, format="warning: %(message)s")
    try:
        _check_usage(args)
        contents, skipped = gather_images(args.content)
        if args.content and not contents:
            raise FileNotFoundError(f"no usable photo in {' '.join(args.content)}")
        detector = face_detector() if args.face_crop else None
        model, _, own = load_for_inference(args.checkpoint, args.device, args.cpu_path)
        target = _cli_target(args, model, own)
        if not contents:  # --save-prototype alone
            return 0
        resolve_color_method(args.preserve_color, target)
    except (OSError, ValueError, CheckpointError, FaceDetectorUnavailable) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    _report(f"skipped {p}: {reason}" for p, reason in skipped)
    report = stylize_files(
        model,
        contents,
        target,
        args.out,
        size=args.size,
        alpha=args.alpha,
        preserve_color=args.preserve_color,
        face_crop=args.face_crop,
        batch_size=args.batch_size,
        detector=detector,
        protect=[args.checkpoint, *_style_inputs(args)],
    )
    _report(f"skipped {p}: {reason}" for p, reason in report.skipped)
    _report(f"no face found in {p}: stylised the whole photo" for p in report.no_face)
    for _, path in report.outputs:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
