"""Colour transfer in pixel space: a photo (B, 3, H, W), pixels in [0, 1], takes a style
image's colours, per channel: its mean and std (`pixel_adain`: AdaIN in pixel space, the colour
transfer of Reinhard et al. 2001 in RGB) or its whole histogram (`histogram_match`, from the
style's `colour_quantiles`); then, if asked, part of its light and dark too (`tone_match`: the
luma histogram, from the style's `tone_quantiles`). The first step of the cel output stage
(`cel.cel_render`)."""

from __future__ import annotations

import torch

from .function import adain_from_stats, in_fp32

LUMA = (0.299, 0.587, 0.114)  # Rec. 601 luma weights
QUANTILES = 256  # a style's colour histogram: its quantiles per channel (`colour_quantiles`)
CDF_BINS = 1024  # a photo's colour histogram: bins per channel (finer than 8-bit pixels)


@in_fp32
def pixel_adain(photo: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """The photo's pixels (B, 3, H, W) with each channel's mean and std moved to the style's
    (AdaIN in pixel space, Reinhard et al. 2001's colour transfer in RGB), clamped to [0, 1]."""
    return adain_from_stats(photo, mean.to(photo), std.to(photo)).clamp(0, 1)


@torch.no_grad()
def colour_quantiles(points: torch.Tensor, q: int = QUANTILES) -> torch.Tensor:
    """(B, 3, q): each image's colour histogram as its per-channel quantiles at the levels
    i / (q - 1) of its points (B, N, 3) in [0, 1] (nearest rank; the first is the darkest
    value, the last the brightest)."""
    values = points.float().transpose(1, 2).sort(-1).values  # B x 3 x N
    n = values.shape[-1]
    picks = (torch.arange(q, device=points.device) * (n - 1) / (q - 1)).round().long()
    return values[..., picks]


def image_quantiles(pixels: torch.Tensor, max_points: int = 16384) -> torch.Tensor:
    """`colour_quantiles` of images (B, C, H, W) in [0, 1], read from at most `max_points`
    pixels each (an even stride; under ONNX export, of a symbolic size: all of them)."""
    points = pixels.flatten(2).transpose(1, 2)
    if not torch.compiler.is_exporting():
        points = points[:, :: max(1, points.shape[1] // max_points)]
    return colour_quantiles(points)


@in_fp32
def histogram_match(photo: torch.Tensor, quantiles: torch.Tensor) -> torch.Tensor:
    """The photo's pixels (B, 3, H, W) in [0, 1] with each channel's histogram moved to the
    style's, given by its `quantiles` ((B | 1, 3, Q), `colour_quantiles`): histogram
    specification (Gonzalez & Woods, "Digital Image Processing", 3.3; per channel as
    scikit-image's `match_histograms`). Each of `CDF_BINS` bins per channel goes to the style's
    quantile function (linear between quantiles) at its mid-rank in the photo (the share of
    pixels below it plus half its own): monotone in each channel, equal values stay equal (a
    flat region moves as one), and the picture takes the style's share of each shade, which
    mean and std alone do not give. One look-up table per channel: little memory at 12 MP."""
    b, c, h, w = photo.shape
    x = photo.clamp(0, 1).flatten(2)  # B x 3 x N
    idx = (x * CDF_BINS).long().clamp(max=CDF_BINS - 1)
    counts = torch.zeros(b, c, CDF_BINS, dtype=torch.long, device=x.device)
    counts = counts.scatter_add(2, idx, torch.ones_like(idx)).float()  # exact counts, then float
    level = (counts.cumsum(-1) - counts / 2) / x.shape[-1]  # each bin's mid-rank, in [0, 1]
    q = quantiles.to(x).expand(b, -1, -1)
    k = q.shape[-1]
    at = level * (k - 1)
    lo = at.floor().long().clamp(max=k - 2)
    low, high = q.gather(2, lo), q.gather(2, lo + 1)
    table = low + (at - lo) * (high - low)  # B x 3 x CDF_BINS
    return table.gather(2, idx).view(b, c, h, w)


def luma(pixels: torch.Tensor) -> torch.Tensor:
    """Rec. 601 luma (B, 1, H, W) of pixels (B, 3, H, W)."""
    return (pixels * pixels.new_tensor(LUMA).view(1, 3, 1, 1)).sum(1, keepdim=True)


def colour_luma(colours: torch.Tensor) -> torch.Tensor:
    """Rec. 601 luma (...,) of colours (..., 3): palettes, lists of pixels."""
    return colours @ colours.new_tensor(LUMA)


@torch.no_grad()
def tone_quantiles(points: torch.Tensor, q: int = QUANTILES) -> torch.Tensor:
    """(B, 1, q): each image's luma histogram as quantiles (`colour_quantiles` of the luma of
    its points (B, N, 3) in [0, 1])."""
    return colour_quantiles((points.float() * points.new_tensor(LUMA)).sum(-1, keepdim=True), q)


@in_fp32
def tone_match(
    coloured: torch.Tensor, photo: torch.Tensor, tones: torch.Tensor, share: float
) -> torch.Tensor:
    """The colour-matched photo `coloured` (B, 3, H, W) with its luma moved `share` of the way
    to the photo's luma histogram-matched to the style's `tones` ((B | 1, 1, Q),
    `tone_quantiles`), the same change in all three channels, clamped to [0, 1]. Mean and std
    leave a photo's tones bell-shaped; a drawing's are a few flat lights and darks: this gives
    the picture part of the drawing's share of each: histogram specification (Gonzalez & Woods
    3.3) of the luma alone, the channel Gatys et al. 2016 ("Preserving Color in Neural
    Artistic Style Transfer") transfer apart from colour (they match its mean and variance).
    `share` 1 takes all of it, 0 none. The photo's own luma ranks decide the order, so a face
    stays lit where it was lit."""
    if share <= 0:
        return coloured
    target = histogram_match(luma(photo), tones)
    return (coloured + share * (target - luma(coloured))).clamp(0, 1)
