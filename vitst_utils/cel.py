"""The cel output stage (`output_space="cel"`): pictures drawn by construction, in the style
image's own colours, with outlines where different fills meet.

A cel model's decoder paints a *change* to the photo, and this module turns it into the picture:

1. **Colours first, as AdaIN does for features**: the photo's pixels get the style image's
   colour mean and std per channel (`pixel_adain`); the decoder's map is added to their logits.
2. **Fill**: each pixel takes the nearest of the style's `K` palette colours (k-means of its
   pixels, `palette_kmeans`), softly: softmax(-distance^2 / tau) over the palette, the
   soft-to-hard vector quantisation of Agustsson et al. 2017 ("Soft-to-Hard Vector Quantization
   for End-to-End Learning Compressible Representations"), so gradients still reach the decoder.
   Blurs, halos and noise cannot survive it: what is not a palette colour becomes one.
3. **Ink**: where a pixel and its right or lower neighbour hold different palette colours, it
   takes the style's line colour (`line_colour`), in proportion to how different the two
   colours are (no ink below RGB distance `ink[0]`, full ink above `ink[1]`): 1 px outlines
   between distinct fills, none between two shades of one fill. Outlines where a label buffer
   changes are the G-buffer edges of toon rendering (Saito & Takahashi 1990, "Comprehensible
   rendering of 3-D shapes"); quantised colours plus edges is the image abstraction of
   Winnemoeller, Olsen & Gooch 2006 ("Real-time video abstraction"). The line colour is the
   style image's own: the darker half of its `line` share of pixels that stand out most in a
   black top-hat (the luma's morphological closing minus the luma: thin dark strokes; Serra
   1982, "Image Analysis and Mathematical Morphology"), so black line art inks black and
   coloured line art inks in its colour.

The decoder's last convolution starts at zero, so an untrained cel model *is* this stage over
the colour-matched photo: `evaluate` scores that "filter" as a baseline row beside every model,
and training learns what to change. Every function takes and returns [0, 1] pixels, runs in
fp32 (`in_fp32`) and is local but for the colour statistics, which are the whole picture's.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import torch
import torch.nn.functional as F

from .config import CEL_COLORS, CEL_INK, CEL_LINE, CEL_TAU
from .function import adain_from_stats, calc_mean_std, in_fp32

LUMA = (0.299, 0.587, 0.114)  # Rec. 601 luma: what is dark (line art, the darkest colour)
ROWS_PER_CHUNK = 512  # rendering works on row blocks: memory linear in the picture's width
LINE_WINDOW = 5  # the top-hat's closing window: strokes up to 4 px wide count as lines
LINE_MIN = 0.05  # a near-flat style: its strongest strokes stand out less than this (luma)


@dataclass
class CelStyle:
    """What a cel model paints with: the style's colour `mean` and `std` per channel
    ((B | 1, 3, 1, 1), pixels in [0, 1]), its `palette` ((B | 1, K, 3)) and its `ink_colour`,
    the outlines' colour ((B | 1, 3); `TrainConfig.cel_ink` is where they are drawn)."""

    mean: torch.Tensor
    std: torch.Tensor
    palette: torch.Tensor
    ink_colour: torch.Tensor

    def to(self, device: torch.device | str) -> CelStyle:
        return CelStyle(*(getattr(self, f.name).to(device) for f in fields(self)))

    @classmethod
    def cat(cls, styles: list[CelStyle]) -> CelStyle:
        """Several styles stacked on the batch dimension (one per photo)."""
        return cls(*(torch.cat([getattr(s, f.name) for s in styles]) for f in fields(cls)))

    def item(self, i: int = 0) -> dict[str, torch.Tensor]:
        """Style `i` as saved in prototypes and exports: "mean", "std" (3,), "palette" (K, 3)
        and "ink_colour" (3,)."""
        return {
            "mean": self.mean[i].flatten(),
            "std": self.std[i].flatten(),
            "palette": self.palette[i],
            "ink_colour": self.ink_colour[i],
        }

    @classmethod
    def from_saved(cls, saved: dict[str, Any]) -> CelStyle:
        """The style `item` saved (tensors, or lists from JSON; other keys ignored); one saved
        before the ink colour existed inks in its palette's darkest colour."""

        def get(key: str) -> torch.Tensor:
            return torch.as_tensor(saved[key], dtype=torch.float32)

        palette = get("palette").reshape(1, -1, 3)
        ink = get("ink_colour").reshape(1, 3) if "ink_colour" in saved else darkest_colour(palette)
        return cls(get("mean").reshape(1, 3, 1, 1), get("std").reshape(1, 3, 1, 1), palette, ink)


@in_fp32
@torch.no_grad()
def palette_kmeans(
    points: torch.Tensor, k: int, weights: torch.Tensor | None = None, iters: int = 10
) -> torch.Tensor:
    """(B, k, 3) colours: Lloyd's k-means of each batch item's points (B, N, 3), weighted
    (B, N) if given. Deterministic: the centres start at k evenly spaced luma quantiles; an
    empty cluster keeps its centre (an image with fewer colours than k repeats some)."""
    b, n, _ = points.shape
    if n == 0:
        raise ValueError("palette_kmeans() needs at least one point per image")
    w = torch.ones(b, n, device=points.device) if weights is None else weights.float()
    luma = points @ torch.tensor(LUMA, device=points.device)
    order = luma.argsort(dim=1)
    picks = ((torch.arange(k, device=points.device) + 0.5) * n / k).long().clamp(max=n - 1)
    centres = torch.gather(points, 1, order[:, picks, None].expand(-1, -1, 3))
    for _ in range(iters):
        nearest = torch.cdist(points, centres).argmin(-1)  # B x N
        onehot = torch.nn.functional.one_hot(nearest, k).float() * w[..., None]  # B x N x k
        mass = onehot.sum(1)[..., None]  # B x k x 1
        sums = onehot.transpose(1, 2) @ points  # B x k x 3
        centres = torch.where(mass > 0, sums / mass.clamp_min(1e-12), centres)
    return centres


def darkest_colour(palette: torch.Tensor) -> torch.Tensor:
    """(B, 3): the darkest (Rec. 601 luma) colour of each palette (B, K, 3): the ink of styles
    without line art, and of prototypes and exports made before the line colour."""
    luma = palette @ torch.tensor(LUMA, device=palette.device, dtype=palette.dtype)
    return palette.gather(1, luma.argmin(1)[:, None, None].expand(-1, 1, 3))[:, 0]


@in_fp32
@torch.no_grad()
def line_colour(pixels: torch.Tensor, share: float, palette: torch.Tensor) -> torch.Tensor:
    """(B, 3): the colour of each style image's (B, 3, H, W) line art: of the `share` of its
    pixels that stand out most in a black top-hat of the luma (closing minus luma over
    `LINE_WINDOW`), the mean colour of the darker half. An image whose strokes stand out less
    than `LINE_MIN`, or `share` 0, takes its `palette`'s darkest colour (`darkest_colour`)."""
    fallback = darkest_colour(palette)
    n = round(share * pixels.shape[-2] * pixels.shape[-1])
    if n < 2:
        return fallback
    y = torch.einsum("bchw,c->bhw", pixels, torch.tensor(LUMA, device=pixels.device))[:, None]
    pad = LINE_WINDOW // 2
    closing = -F.max_pool2d(-F.max_pool2d(y, LINE_WINDOW, 1, pad), LINE_WINDOW, 1, pad)
    strong = (closing - y).flatten(1).topk(n, dim=1)  # B x n
    points = pixels.flatten(2).transpose(1, 2)  # B x N x 3
    lines = points.gather(1, strong.indices[..., None].expand(-1, -1, 3))
    dark = (lines @ torch.tensor(LUMA, device=pixels.device)).topk(n // 2, 1, largest=False)
    colour = lines.gather(1, dark.indices[..., None].expand(-1, -1, 3)).mean(1)
    has_lines = strong.values.mean(1, keepdim=True) >= LINE_MIN
    return torch.where(has_lines, colour, fallback)


def cel_style(
    pixels: torch.Tensor,
    k: int,
    weights: torch.Tensor | None = None,
    max_points: int = 16384,
    line: float = CEL_LINE,
) -> CelStyle:
    """The `CelStyle` of style images (B, 3, H, W) in [0, 1]: one per image, or with `weights`
    (B,), summing to 1, one blended style: the weighted statistics and line colours (as AdaIN
    blends) and the k-means palette of all images' pixels, each image weighted by its weight.
    At most `max_points` pixels per image (an even stride) go into the k-means; `line` is the
    share of pixels `line_colour` reads the ink from."""
    pixels = pixels.float()
    mean, std = calc_mean_std(pixels)
    points = pixels.flatten(2).transpose(1, 2)  # B x N x 3
    stride = max(1, points.shape[1] // max_points)
    points = points[:, ::stride]
    if weights is None:
        palette = palette_kmeans(points, k)
        return CelStyle(mean, std, palette, line_colour(pixels, line, palette))
    w = weights.float().to(pixels.device)
    blend = w.view(-1, 1, 1, 1)
    point_w = (w[:, None] / points.shape[1]).expand(-1, points.shape[1])
    keep = w > 0
    palette = palette_kmeans(points[keep].reshape(1, -1, 3), k, point_w[keep].reshape(1, -1))
    inks = line_colour(pixels, line, palette)
    blended = [(t * blend).sum(0, True) for t in (mean, std)]
    return CelStyle(*blended, palette, (inks * w[:, None]).sum(0, True))


@in_fp32
def pixel_adain(photo: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """The photo's pixels (B, 3, H, W) with each channel's mean and std moved to the style's
    (AdaIN in pixel space, Reinhard et al. 2001's colour transfer in RGB), clamped to [0, 1]."""
    return adain_from_stats(photo, mean.to(photo), std.to(photo)).clamp(0, 1)


def _logit(x: torch.Tensor) -> torch.Tensor:
    x = x.clamp(0.01, 0.99)  # the decoder's change stays finite at black and white
    return torch.log(x / (1 - x))


def _render_rows(
    rgb: torch.Tensor,
    palette: torch.Tensor,
    ink_colour: torch.Tensor,
    tau: float,
    ink: tuple[float, float] | None,
) -> torch.Tensor:
    """Fill and ink of (B, 3, h, W) colours; the last row is only the neighbour of the one
    above it (callers crop it) unless it is the picture's last."""
    b = rgb.shape[0]
    palette = palette.expand(b, -1, -1)
    d2 = (
        rgb.square().sum(1, keepdim=True)
        - 2 * torch.einsum("bchw,bkc->bkhw", rgb, palette)
        + palette.square().sum(-1)[..., None, None]
    )
    weights = torch.softmax(-d2 / tau, dim=1)  # B x K x h x W
    fill = torch.einsum("bkhw,bkc->bchw", weights, palette)
    if ink is None:
        return fill
    lo, hi = ink
    distance = (palette[:, :, None] - palette[:, None]).square().sum(-1).sqrt()  # (ONNX: no cdist)
    contrast = ((distance - lo) / (hi - lo)).clamp(0, 1)  # B x K x K
    expected = torch.einsum("bkhw,bkl->blhw", weights, contrast)
    across = (expected[..., :, :-1] * weights[..., :, 1:]).sum(1, keepdim=True)
    down = (expected[..., :-1, :] * weights[..., 1:, :]).sum(1, keepdim=True)
    keep = torch.nn.functional.pad(1 - across, (0, 1), value=1.0)
    keep = keep * torch.nn.functional.pad(1 - down, (0, 0, 0, 1), value=1.0)
    return fill * keep + (1 - keep) * ink_colour[..., None, None]


@in_fp32
def cel_render(
    change: torch.Tensor,
    photo: torch.Tensor,
    style: CelStyle,
    tau: float,
    ink: tuple[float, float] | None,
) -> torch.Tensor:
    """The cel picture (B, 3, H, W) in [0, 1]: the photo (pixels) with the style's colour
    statistics (`pixel_adain`), the decoder's `change` added to its logits, filled with the
    style's palette (softness `tau`) and inked in its line colour between fills further apart
    than `ink` (None: no ink, as the identity images are decoded). Rendered in blocks of rows,
    so a 12 MP photo never holds K full-size maps."""
    base = pixel_adain(photo, style.mean, style.std)
    rgb = torch.sigmoid(_logit(base) + change)
    h = rgb.shape[-2]
    if torch.compiler.is_exporting() or h <= ROWS_PER_CHUNK:  # ONNX: one symbolic height
        return _render_rows(rgb, style.palette, style.ink_colour, tau, ink)
    out = []
    for r0 in range(0, h, ROWS_PER_CHUNK):
        r1 = min(h, r0 + ROWS_PER_CHUNK)
        rows = rgb[..., r0 : min(h, r1 + 1), :]
        block = _render_rows(rows, style.palette, style.ink_colour, tau, ink)
        out.append(block[..., : r1 - r0, :])
    return torch.cat(out, dim=-2)


def cel_filter(
    photos: torch.Tensor,
    styles: torch.Tensor,
    k: int = CEL_COLORS,
    tau: float = CEL_TAU,
    ink: tuple[float, float] | None = CEL_INK,
    line: float = CEL_LINE,
) -> torch.Tensor:
    """What an untrained cel model paints (its change is zero): each photo (B, 3, H, W) in
    [0, 1] in the colours of its style image (B, 3, H', W'), filled with that image's palette
    and inked in its line colour. No network: the baseline a trained model must beat
    (`evaluate`'s "filter")."""
    style = cel_style(styles, k, line=line)
    return cel_render(torch.zeros_like(photos), photos, style, tau, ink)
