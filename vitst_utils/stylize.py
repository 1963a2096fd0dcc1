"""Stylising: photos of any size towards a style target (one style image, a blend of several,
or a prototype), with pytorch-AdaIN's controls (`alpha`, colour preservation).

`transfer` is the one path from photos to stylised photos: encode (in windows of the training
size for large photos, `tiling.py`), AdaIN towards the target's statistics, decode; the CLI,
the notebooks, the ONNX export and the video frames (`frames.py`, which smooths the content
statistics over time through `transfer`'s `normalise` hook) all go through it. The model's
`inference_path` (`cpu_paths.py`) runs the encoder and decoder on the CPU.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from .cel import CelStyle
from .checkpoint import load_checkpoint, model_from_checkpoint
from .colour_transfer import image_quantiles, luma
from .config import TrainConfig
from .cpu_paths import inference_path
from .data import image_batch, load_image
from .face import Detector, crop_face
from .function import (
    adain_from_stats,
    calc_mean_std,
    coral,
    fp16_on_cuda,
    luminance_transfer,
    mean_variance_norm,
    normalize,
    to_pixels,
)
from .model import ViTStyleTransfer
from .prototype import check_prototype, checkpoint_prototype
from .tiling import Tiling, stylize_tiled

log = logging.getLogger(__name__)

Size = int | str | None  # short side in pixels, "original", or None (the training size)
COLOR_METHODS = ("auto", "luminance", "coral")


def _device(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


@torch.no_grad()
def stylize(model: ViTStyleTransfer, content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
    """Generated images for normalised (B, 3, S, S) content and style batches (on CPU)."""
    model.eval()
    dev = _device(model)
    return model(content.to(dev), style.to(dev)).float().cpu()


# --- whole frame, any size --------------------------------------------------------------------
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
    normalise: Callable[[torch.Tensor], torch.Tensor] | None = None,
    maps: StyleMaps | None = None,
    cel: CelStyle | None = None,
) -> torch.Tensor:
    """The stylised photos: decode(alpha * AdaIN(f, mean, std) + (1 - alpha) * f), f = encode.

    `photos`: normalised (B, 3, H, W), any H and W (padded to the patch multiple and cropped
    back); `mean`, `std`: the target statistics, (1 | B, C, 1, 1). `alpha` is pytorch-AdaIN's
    (`test.py`, `style_transfer`: `feat = feat * alpha + content_f * (1 - alpha)`): 0 decodes
    the photo's own features, 1 is plain AdaIN. Returns normalised (B, 3, H, W). Large photos
    go through `tiling.stylize_tiled` (windows of the training size, global statistics, tiled
    decode: linear cost); the model's `inference_path` (see `use_inference_path`), if any,
    runs the encoder and decoder. `normalise` (the hook between encode and AdaIN): the content
    features' normalised form, default each channel to zero mean and unit std over the whole
    map (AdaIN's); video frames smooth it over time (`frames.py`). Under export: one pass over
    the whole photo. An attention model (`fusion="attention"`) given its style images' token
    `maps` attends to them instead of AdaIN; without maps (a prototype) it uses `mean`,
    `std`: uniform attention over the anime domain, which is AdaIN. A cel model
    (`output_space="cel"`) paints over the photo with the style's `cel` palette and colours
    (`StyleTarget.cel`); `alpha` < 1 moves its colour statistics (and quantiles and tones)
    towards the photo's own as the features, and keeps the palette."""
    h, w = photos.shape[-2:]
    x = pad_to_multiple(photos, model.patch_size)
    finish = None
    if getattr(model, "is_cel", False):
        if cel is None:
            raise ValueError(
                "this model paints with the style's palette (output_space='cel'): give style "
                "images, or a prototype built by this version (it holds the domain's palette)"
            )
        cel = cel_at_alpha(cel.to(x.device), x, alpha)

        def finish(raw: torch.Tensor) -> torch.Tensor:
            return model.render(raw, x, cel)

    attend = None
    if getattr(model, "attention", None) is not None and maps is not None:
        m = maps.to(x.device)

        def attend(feat: torch.Tensor, normed: torch.Tensor | None) -> torch.Tensor:
            return model.attention(feat, m.features, m.bias, normed, m.normalised)

    if torch.compiler.is_exporting():
        feat = model.encode(x).float()
        target = adain_from_stats(feat, mean.to(feat), std.to(feat)) if alpha else feat
        if 0 < alpha < 1:
            target = alpha * target + (1 - alpha) * feat
        return model.decode(target, x, cel)[..., :h, :w]
    path = getattr(model, "inference_path", None)
    enc, dec = (path.encode, path.decode) if path is not None else (None, None)
    out = stylize_tiled(model, x, mean, std, alpha, tiling, enc, dec, normalise, attend, finish)
    return out[..., :h, :w]


def cel_at_alpha(cel: CelStyle, photos: torch.Tensor, alpha: float) -> CelStyle:
    """`cel` with its colour statistics (and colour and luma quantiles, if it has them) alpha
    of the way from each photo's own (normalised (B, 3, H, W)) to the style's; the palette and
    ink stay. Quantiles blended so are the 1-D Wasserstein geodesic: each pixel moves about
    alpha of the way to its histogram-matched colour (at alpha 0, tone matching to the photo's
    own tones changes nothing)."""
    if alpha >= 1:
        return cel
    pixels = to_pixels(photos.float()).clamp(0, 1)
    mean, std = calc_mean_std(pixels)
    mean, std = alpha * cel.mean + (1 - alpha) * mean, alpha * cel.std + (1 - alpha) * std
    quantiles, tones = cel.quantiles, cel.tones
    if quantiles is not None:
        quantiles = alpha * quantiles + (1 - alpha) * image_quantiles(pixels)
    if tones is not None:
        tones = alpha * tones + (1 - alpha) * image_quantiles(luma(pixels))
    return replace(cel, mean=mean, std=std, quantiles=quantiles, tones=tones)


def use_inference_path(model: ViTStyleTransfer, name: str | None = "auto") -> ViTStyleTransfer:
    """Run `model`'s stylising on CPU path `name` (`cpu_paths.CPU_PATHS`; "auto": the default
    for this CPU; None: plain eager, fp16 autocast on CUDA). A CUDA model keeps fp16 autocast."""
    model.inference_path = None
    if name is not None and _device(model).type == "cpu":
        model.inference_path = inference_path(model, name)
    return model


# --- a checkpoint's model, ready to stylise ----------------------------------------------------
def prepare_for_inference(model: ViTStyleTransfer) -> ViTStyleTransfer:
    """Eval mode, no gradients, and the convolutional decoder in channels_last (the seed's
    decoder ran 10-25 % faster so on a 2-core CPU; on CUDA it suits fp16 tensor cores)."""
    model.eval().requires_grad_(False)
    model.decoder.to(memory_format=torch.channels_last)
    return model


def load_for_inference(
    path: str | Path,
    device: str | torch.device = "cpu",
    cpu_path: str | None = "auto",
    tone: float | None = None,
) -> tuple[ViTStyleTransfer, TrainConfig, dict[str, Any] | None]:
    """The model of a checkpoint (`prepare_for_inference`d, on
    `cpu_path` when on the CPU: see `use_inference_path`), its config and its stored prototype
    (None for older checkpoints and seed state dicts); the file is read once. `tone` (a cel
    model's only) replaces the checkpoint's `cel_tone`, in the model and the config returned:
    a stylising-time choice, as it never runs in training. A stored prototype without the tones
    that `tone` needs (one made with `cel_tone` 0) is set aside, with a warning: style images, or
    a prototype built with the same `tone`, stand in for it."""
    ckpt = load_checkpoint(path, device)
    model, cfg = model_from_checkpoint(ckpt, path, device)
    if tone is not None:
        if not 0 <= tone <= 1:
            raise ValueError(f"tone must be a share in [0, 1] (0: off), got {tone}")
        if not model.is_cel:
            raise ValueError(
                f"{path} paints without a palette (output_space={cfg.output_space!r}): tone "
                "matching is a step of the cel output stage (the anime recipe's): leave it out here"
            )
        model.cel_tone, cfg = tone, replace(cfg, cel_tone=tone)
    use_inference_path(prepare_for_inference(model), cpu_path)
    proto = checkpoint_prototype(ckpt)
    if proto is not None:
        proto = {k: v.cpu() if isinstance(v, torch.Tensor) else v for k, v in proto.items()}
        if tone and isinstance(proto.get("cel"), dict) and "tones" not in proto["cel"]:
            log.warning(
                "the prototype stored in %s has no tones (made with cel_tone 0), and tone %s "
                "needs them: it is set aside; stylise with style images, or build a prototype "
                "with this tone (--tone %s --style DIR --save-prototype FILE)",
                path,
                tone,
                tone,
            )
            return model, cfg, None
        check_prototype(proto, model, f"the prototype stored in {path}")
    return model, cfg, proto


# --- style targets: images, blends, prototypes -------------------------------------------------
@dataclass
class StyleMaps:
    """What an attention model attends to: the style images' token maps side by side
    (`features`, (1 | B, C, h, K w) fp32), each image's standardised per channel
    (`normalised`, the same shape), and each token's log blend weight (`bias`, (1, K h w);
    -inf for weight 0), so a blend attends to each image as much as its weight says."""

    features: torch.Tensor
    normalised: torch.Tensor
    bias: torch.Tensor

    def to(self, device: torch.device) -> StyleMaps:
        return StyleMaps(*(t.to(device) for t in (self.features, self.normalised, self.bias)))


@dataclass
class StyleTarget:
    """What photos are stylised towards: AdaIN statistics (1, C, 1, 1) and where they came
    from. `images` (normalised (K, 3, S, S)) and `weights` (K,) are kept for style images, so
    `coral` colour matching can redo them per photo; `maps` for an attention model; `cel`
    (the colours and palette) for a cel model."""

    mean: torch.Tensor
    std: torch.Tensor
    name: str
    images: torch.Tensor | None = None
    weights: torch.Tensor | None = None
    maps: StyleMaps | None = None
    cel: CelStyle | None = None


def style_weights(weights: Sequence[float] | None, n: int) -> torch.Tensor:
    """Blend weights for `n` styles, summing to 1: equal when None, else `weights / sum` as
    pytorch-AdaIN's `--style_interpolation_weights`."""
    if weights is None:
        return torch.full((n,), 1.0 / n)
    if len(weights) != n:
        raise ValueError(
            f"{len(weights)} weight(s) for {n} style image(s): give one weight per style image, "
            "in the same order"
        )
    w = torch.tensor([float(x) for x in weights], dtype=torch.float64)
    if (w < 0).any() or not torch.isfinite(w).all() or w.sum() <= 0:
        raise ValueError(
            f"style weights must be non-negative numbers, not all zero; got {list(weights)}"
        )
    return (w / w.sum()).float()


@torch.no_grad()
def encode_styles(model: ViTStyleTransfer, images: torch.Tensor) -> torch.Tensor:
    """The token maps (B, C, h, w) fp32 of normalised style images."""
    dev = _device(model)
    with fp16_on_cuda(dev):
        return model.encode(images.to(dev)).float()


def _images_target(
    model: ViTStyleTransfer, images: torch.Tensor, weights: torch.Tensor, name: str
) -> StyleTarget:
    """The target of normalised style images blended with `weights` (summing to 1): their
    blended statistics and, for an attention model, their maps and log weights."""
    feat = encode_styles(model, images)
    mean, std = _blend(*calc_mean_std(feat), weights)
    maps = None
    if getattr(model, "attention", None) is not None:
        k, c, h, w = feat.shape

        def side_by_side(x: torch.Tensor) -> torch.Tensor:
            return x.permute(1, 2, 0, 3).reshape(1, c, h, k * w).cpu()

        log_w = weights.float().log().view(1, k, 1).expand(h, k, w)  # the order of the maps
        normalised = side_by_side(mean_variance_norm(feat))
        maps = StyleMaps(side_by_side(feat), normalised, log_w.reshape(1, h * k * w))
    cel = model.cel_style(images, weights).to("cpu") if getattr(model, "is_cel", False) else None
    return StyleTarget(mean.cpu(), std.cpu(), name, images, weights, maps, cel)


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
        raise ValueError("style_target() needs at least one style image")
    w = style_weights(weights, len(styles))
    images = image_batch(styles, model.image_size)
    if name is None:
        name = "+".join(Path(s).stem if not isinstance(s, Image.Image) else "style" for s in styles)
    return _images_target(model, images, w, name)


def target_from_prototype(prototype: dict[str, Any], name: str = "prototype") -> StyleTarget:
    """A `StyleTarget` from a prototype dict (`{"mean": (C,), "std": (C,), ...}`, and a cel
    model's `"cel": {"mean": (3,), "std": (3,), "palette": (K, 3), "ink_colour": (3,), ...}`,
    as `CelStyle.item` saves it)."""
    mean = prototype["mean"].float().reshape(1, -1, 1, 1)
    std = prototype["std"].float().reshape(1, -1, 1, 1)
    return StyleTarget(mean, std, name, cel=prototype_cel(prototype))


def prototype_cel(prototype: dict[str, Any]) -> CelStyle | None:
    """The cel style a prototype holds (built for a cel model), else None."""
    c = prototype.get("cel")
    if not isinstance(c, dict):
        return None
    return CelStyle.from_saved(c)


# --- stylising photos ---------------------------------------------------------------------------
def resolve_color_method(preserve_color: bool | str | None, target: StyleTarget) -> str | None:
    """None (no colour preservation), "luminance" or "coral". True / "auto" picks coral when
    the target has style images (pytorch-AdaIN's `--preserve_color`) and luminance-only
    transfer with a prototype, which has no image to colour-match."""
    if not preserve_color:
        return None
    method = "auto" if preserve_color is True else str(preserve_color)
    if method not in COLOR_METHODS:
        raise ValueError(f"preserve_color takes {'|'.join(COLOR_METHODS)}, got {method!r}")
    if method == "auto":
        return "coral" if target.images is not None else "luminance"
    if method == "coral" and target.images is None:
        raise ValueError(
            "preserve_color='coral' colour-matches the style images to the photo, and a "
            "prototype has none: use 'luminance' (or style images)"
        )
    return method


@torch.no_grad()
def coral_target(model: ViTStyleTransfer, target: StyleTarget, photo: torch.Tensor) -> StyleTarget:
    """`target` with its style images colour-matched to one photo ((3, H, W) pixels in [0, 1];
    pytorch-AdaIN's `coral`), encoded and blended again with the target's weights."""
    if target.images is None or target.weights is None:
        raise ValueError("colour matching (coral) needs style images; a prototype has none")
    matched = torch.stack(
        [coral(s, photo).clamp(0, 1) for s in to_pixels(target.images).clamp(0, 1)]
    )
    out = _images_target(model, normalize(matched), target.weights, target.name)
    out.images = out.weights = None  # already matched: not to be matched again
    return out


def _coral_targets(
    model: ViTStyleTransfer, photos: torch.Tensor, target: StyleTarget
) -> tuple[torch.Tensor, torch.Tensor, StyleMaps | None, CelStyle | None]:
    """Per photo: the style images colour-matched to it (`coral_target`): the stacked
    statistics, maps (None for an AdaIN model) and cel styles (None but for a cel model)."""
    matched = [coral_target(model, target, p) for p in to_pixels(photos).clamp(0, 1)]
    mean, std = torch.cat([t.mean for t in matched]), torch.cat([t.std for t in matched])
    cel = CelStyle.cat([t.cel for t in matched]) if matched[0].cel is not None else None
    if matched[0].maps is None:
        return mean, std, None, cel
    feats = torch.cat([t.maps.features for t in matched])
    normed = torch.cat([t.maps.normalised for t in matched])
    return mean, std, StyleMaps(feats, normed, matched[0].maps.bias), cel


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
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
    method = resolve_color_method(preserve_color, target)
    model.eval()
    dev = _device(model)
    if method == "coral":
        mean, std, maps, cel = _coral_targets(model, photos, target)
    else:
        mean, std, maps, cel = target.mean, target.std, target.maps, target.cel
    with fp16_on_cuda(dev):
        out = transfer(model, photos.to(dev), mean.to(dev), std.to(dev), alpha, maps=maps, cel=cel)
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
