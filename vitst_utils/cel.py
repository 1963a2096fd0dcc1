"""The cel output stage (`output_space="cel"`): pictures drawn by construction, in the style
image's own colours, with outlines where different fills meet.

A cel model's decoder paints a *change* to the photo, and this module turns it into the picture:

1. **Colours first, as AdaIN does for features** (`colour_transfer.py`): the photo's pixels
   get the style image's colour mean and std per channel (`pixel_adain`); with
   `TrainConfig.cel_match="histogram"` (an option the tenth round did not adopt) its whole
   histogram per channel instead (`histogram_match`: the style's share of every shade, which
   mean and std alone do not fix: a drawing of a few flat colours is no bell curve). When
   stylising, the picture's luma then moves `TrainConfig.cel_tone` of the way to the style's
   luma histogram (`tone_match`, the eleventh round): a drawing's few flat lights and darks,
   not a photo's bell curve of tones, in the photo's own order of light. The decoder's map is
   added to their logits (its training never sees the tone matching, as it never sees step 4).
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
4. **Clean fills**: a photo's noise, grain and compression blocks snap to speckle between close
   palette colours, which no drawing has. So the fill weights first take `clean` passes of an
   edge-aware 3 x 3 mode filter (each pixel takes the majority of its neighbours whose colours
   are close to its own, weight exp(-distance^2 / (2 * CLEAN_RANGE^2)), re-sharpened): a local
   step of the mean-field inference of a dense CRF with a Gaussian appearance kernel
   (Kraehenbuehl & Koltun 2011, "Efficient Inference in Fully Connected CRFs with Gaussian Edge
   Potentials"), whose message passing is a bilateral filter of the label distributions
   (Tomasi & Manduchi 1998). Speckle joins its surroundings; a thin dark line, an eye, a lip
   keep their label because their neighbours across the edge hardly count. A cel model cleans
   only when stylising (eval mode): its training losses see the picture uncleaned.
5. **As much line work as the drawing**: a photo has more detail than most drawings of it. So
   the cleaned fill is simplified by up to `simplify` passes of a soft mode filter (each pixel
   takes the 3 x 3 majority of the fill weights, re-sharpened: the label smoothing of
   Winnemoeller et al.'s abstraction, in soft form), the fewest passes after which the picture
   holds no more ink per picture side than the style image itself (`CelStyle.ink_length`,
   measured by rendering the style image as drawn, with its own palette and no cleaning). A
   densely lined drawing keeps every detail; a sparse, lineless one gets a clean picture of
   large shapes. The choice is one per picture, from the whole picture.

The decoder's last convolution starts at zero, so an untrained cel model *is* this stage over
the colour-matched photo: `evaluate` scores that "filter" as a baseline row beside every model,
and training learns what to change. Every function takes and returns [0, 1] pixels, runs in
fp32 (`in_fp32`) and is local but for the colour statistics, the luma histogram and the number
of simplifying passes, which are the whole picture's.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .celstyle import CelStyle, darkest_colour
from .colour_transfer import (
    colour_luma,
    colour_quantiles,
    histogram_match,
    luma,
    pixel_adain,
    tone_match,
    tone_quantiles,
)
from .config import (
    CEL_CLEAN,
    CEL_COLORS,
    CEL_INK,
    CEL_LINE,
    CEL_MATCH,
    CEL_SIMPLIFY,
    CEL_TAU,
    CEL_TONE,
)
from .function import calc_mean_std, in_fp32

ROWS_PER_CHUNK = 512  # rendering works on row blocks: memory linear in the picture's width
LINE_WINDOW = 5  # the top-hat's closing window: strokes up to 4 px wide count as lines
LINE_MIN = 0.05  # a near-flat style: its strongest strokes stand out less than this (luma)
MODE_SHARPEN = 8.0  # a simplifying pass re-sharpens the 3 x 3 mean of the fill weights: w^8
CLEAN_RANGE = 0.05  # a cleaning pass: RGB distance at which a neighbour counts exp(-1/2) as much


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
    order = colour_luma(points).argsort(dim=1)
    picks = ((torch.arange(k, device=points.device) + 0.5) * n / k).long().clamp(max=n - 1)
    centres = torch.gather(points, 1, order[:, picks, None].expand(-1, -1, 3))
    for _ in range(iters):
        nearest = torch.cdist(points, centres).argmin(-1)  # B x N
        onehot = torch.nn.functional.one_hot(nearest, k).float() * w[..., None]  # B x N x k
        mass = onehot.sum(1)[..., None]  # B x k x 1
        sums = onehot.transpose(1, 2) @ points  # B x k x 3
        centres = torch.where(mass > 0, sums / mass.clamp_min(1e-12), centres)
    return centres


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
    y = luma(pixels)
    pad = LINE_WINDOW // 2
    closing = -F.max_pool2d(-F.max_pool2d(y, LINE_WINDOW, 1, pad), LINE_WINDOW, 1, pad)
    strong = (closing - y).flatten(1).topk(n, dim=1)  # B x n
    points = pixels.flatten(2).transpose(1, 2)  # B x N x 3
    lines = points.gather(1, strong.indices[..., None].expand(-1, -1, 3))
    dark = colour_luma(lines).topk(n // 2, 1, largest=False)
    colour = lines.gather(1, dark.indices[..., None].expand(-1, -1, 3)).mean(1)
    has_lines = strong.values.mean(1, keepdim=True) >= LINE_MIN
    return torch.where(has_lines, colour, fallback)


def cel_style(
    pixels: torch.Tensor,
    k: int,
    weights: torch.Tensor | None = None,
    max_points: int = 16384,
    line: float = CEL_LINE,
    tau: float = CEL_TAU,
    ink: tuple[float, float] | None = CEL_INK,
    quantiles: bool = False,
    tones: bool = False,
) -> CelStyle:
    """The `CelStyle` of style images (B, 3, H, W) in [0, 1]: one per image, or with `weights`
    (B,), summing to 1, one blended style: the weighted statistics, line colours, ink lengths
    and colour and luma quantiles (as AdaIN blends; quantile functions averaged are the 1-D
    Wasserstein barycentre of the histograms) and the k-means palette of all images' pixels,
    each image weighted by its weight. At most `max_points` pixels per image (an even stride) go
    into the k-means and the quantiles (`quantiles` True: measured, for histogram matching;
    `tones` True: the luma's, for tone matching); `line` is
    the share of pixels `line_colour` reads the ink from; `tau` and `ink` are the rendering's,
    with which each image's ink length is measured (`ink_length`, with the palette returned;
    `ink` None: not measured, for pictures rendered without ink)."""
    pixels = pixels.float()
    mean, std = calc_mean_std(pixels)
    points = pixels.flatten(2).transpose(1, 2)  # B x N x 3
    stride = max(1, points.shape[1] // max_points)
    points = points[:, ::stride]
    q = colour_quantiles(points) if quantiles else None
    y = tone_quantiles(points) if tones else None
    if weights is None:
        palette = palette_kmeans(points, k)
        lengths = None if ink is None else ink_length(pixels, palette, tau, ink)
        return CelStyle(mean, std, palette, line_colour(pixels, line, palette), lengths, q, y)
    w = weights.float().to(pixels.device)
    blend = w.view(-1, 1, 1, 1)
    point_w = (w[:, None] / points.shape[1]).expand(-1, points.shape[1])
    keep = w > 0
    palette = palette_kmeans(points[keep].reshape(1, -1, 3), k, point_w[keep].reshape(1, -1))
    inks = line_colour(pixels, line, palette)
    blended = [(t * blend).sum(0, True) for t in (mean, std)]
    length = None if ink is None else (ink_length(pixels, palette, tau, ink) * w).sum(0, True)
    q, y = (None if t is None else (t * w[:, None, None]).sum(0, True) for t in (q, y))
    return CelStyle(*blended, palette, (inks * w[:, None]).sum(0, True), length, q, y)


@in_fp32
@torch.no_grad()
def ink_length(
    pixels: torch.Tensor, palette: torch.Tensor, tau: float, ink: tuple[float, float]
) -> torch.Tensor:
    """(B,): how much ink each image (B, 3, H, W) holds when rendered with `palette` ((B | 1,
    K, 3): its own style's, or a blend's), in picture sides: the ink amount summed over its
    pixels / sqrt(pixel count)."""
    amount = _ink_amount(_fill_weights(pixels, palette, tau), palette, ink)
    return amount.sum((1, 2, 3)) / math.sqrt(pixels.shape[-2] * pixels.shape[-1])


def _logit(x: torch.Tensor) -> torch.Tensor:
    x = x.clamp(0.01, 0.99)  # the decoder's change stays finite at black and white
    return torch.log(x / (1 - x))


def _fill_weights(rgb: torch.Tensor, palette: torch.Tensor, tau: float) -> torch.Tensor:
    """(B, K, h, W): each pixel's soft choice among the palette, softmax(-distance^2 / tau)."""
    palette = palette.expand(rgb.shape[0], -1, -1)
    d2 = (
        rgb.square().sum(1, keepdim=True)
        - 2 * torch.einsum("bchw,bkc->bkhw", rgb, palette)
        + palette.square().sum(-1)[..., None, None]
    )
    return torch.softmax(-d2 / tau, dim=1)


def _sharpen(mean: torch.Tensor) -> torch.Tensor:
    """Averaged fill weights (B, K, h, W) re-sharpened: mean^MODE_SHARPEN, renormalised over
    the palette (the second half of a simplifying or cleaning pass). Works in place on `mean`,
    a fresh tensor of the caller's (a 12 MP render's blocks need no more copies)."""
    return torch.softmax(torch.log(mean.clamp_min_(1e-8)).mul_(MODE_SHARPEN), dim=1)


def _mode_pass(weights: torch.Tensor) -> torch.Tensor:
    """One simplifying pass: the 3 x 3 mean of the fill weights (within the picture),
    re-sharpened (`_sharpen`): a soft mode filter of the labels."""
    return _sharpen(F.avg_pool2d(weights, 3, 1, 1, count_include_pad=False))


def _ink_amount(
    weights: torch.Tensor, palette: torch.Tensor, ink: tuple[float, float]
) -> torch.Tensor:
    """(B, 1, h, W) in [0, 1]: how much ink each pixel takes, from how likely it and its right
    or lower neighbour hold fills further apart than `ink` (the last row and column have none
    below or right)."""
    palette = palette.expand(weights.shape[0], -1, -1)
    lo, hi = ink
    distance = (palette[:, :, None] - palette[:, None]).square().sum(-1).sqrt()  # (ONNX: no cdist)
    contrast = ((distance - lo) / (hi - lo)).clamp(0, 1)  # B x K x K
    expected = torch.einsum("bkhw,bkl->blhw", weights, contrast)
    across = (expected[..., :, :-1] * weights[..., :, 1:]).sum(1, keepdim=True)
    down = (expected[..., :-1, :] * weights[..., 1:, :]).sum(1, keepdim=True)
    keep = F.pad(1 - across, (0, 1), value=1.0) * F.pad(1 - down, (0, 0, 0, 1), value=1.0)
    return 1 - keep


_AROUND = [(dy, dx) for dy in range(3) for dx in range(3) if (dy, dx) != (1, 1)]


def _around(x: torch.Tensor) -> list[torch.Tensor]:
    """The 8 shifted views of (B, C, h, W) `x` that put each pixel's 3 x 3 neighbours (not
    itself) on it, in `_AROUND` order (the picture's edge rows and columns repeated)."""
    h, w = x.shape[-2:]
    padded = F.pad(x, (1, 1, 1, 1), mode="replicate")
    return [padded[..., dy : dy + h, dx : dx + w] for dy, dx in _AROUND]


def _affinity(rgb: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
    """How much each of a pixel's 8 neighbours counts in a cleaning pass ((B, 1, h, W) each),
    from how close its colour is (`CLEAN_RANGE`; the pixel itself counts 1), and their sum
    with the pixel's own: the colours guide, gradients flow through the weights only."""
    rgb = rgb.detach()
    affinity = [
        torch.exp(-(n - rgb).square().sum(1, keepdim=True) / (2 * CLEAN_RANGE**2))
        for n in _around(rgb)
    ]
    return affinity, 1 + sum(affinity)


def _clean_pass(
    weights: torch.Tensor, affinity: list[torch.Tensor], total: torch.Tensor
) -> torch.Tensor:
    """One cleaning pass: the 3 x 3 mean of the fill weights, each neighbour weighted by its
    `affinity` (`_affinity`, whose `total` divides), re-sharpened (`_sharpen`)."""
    mean = weights.clone()
    for a, n in zip(affinity, _around(weights), strict=True):
        mean.addcmul_(n, a)
    return _sharpen(mean.div_(total))


def _clean_weights(
    rgb: torch.Tensor, palette: torch.Tensor, tau: float, clean: int
) -> torch.Tensor:
    """The fill weights of (B, 3, h, W) colours after `clean` cleaning passes."""
    weights = _fill_weights(rgb, palette, tau)
    if clean > 0:
        affinity, total = _affinity(rgb)
        for _ in range(clean):
            weights = _clean_pass(weights, affinity, total)
    return weights


def _simplified(weights: torch.Tensor, passes: torch.Tensor | None, most: int) -> torch.Tensor:
    """Fill weights (B, K, h, W), each picture after its number of simplifying `passes`
    ((B,), at most `most`; None: none)."""
    if passes is None:
        return weights
    chosen = weights
    needed = most if torch.compiler.is_exporting() else int(passes.max())  # ONNX: all of them
    for n in range(1, needed + 1):
        weights = _mode_pass(weights)
        chosen = torch.where((passes >= n).view(-1, 1, 1, 1), weights, chosen)
    return chosen


def _paint(weights: torch.Tensor, style: CelStyle, ink: tuple[float, float] | None) -> torch.Tensor:
    """The fill (B, 3, h, W) of fill weights (B, K, h, W) in the style's palette, inked in its
    line colour where neighbouring fills lie further apart than `ink` (None: fills only)."""
    palette = style.palette.expand(weights.shape[0], -1, -1)
    fill = torch.einsum("bkhw,bkc->bchw", weights, palette)
    if ink is None:
        return fill
    amount = _ink_amount(weights, palette, ink)
    return fill * (1 - amount) + amount * style.ink_colour[..., None, None]


def _render_rows(
    rgb: torch.Tensor,
    style: CelStyle,
    tau: float,
    ink: tuple[float, float] | None,
    clean: int,
    passes: torch.Tensor | None,
    most: int,
) -> torch.Tensor:
    """Fill and ink of (B, 3, h, W) colours, cleaned by `clean` passes, each picture then
    simplified by its number of `passes` ((B,), at most `most`; None: none); rows near a
    block's cut are only context (callers crop them)."""
    weights = _clean_weights(rgb, style.palette, tau, clean)
    return _paint(_simplified(weights, passes, most), style, ink)


def _row_blocks(h: int, context: int) -> list[tuple[int, int, int, int]]:
    """(start, stop) of each block of `ROWS_PER_CHUNK` rows, with the rows read around it
    (`context` above and below, within the picture): (r0, r1, lo, hi)."""
    return [
        (
            r0,
            min(h, r0 + ROWS_PER_CHUNK),
            max(0, r0 - context),
            min(h, r0 + ROWS_PER_CHUNK + context),
        )
        for r0 in range(0, h, ROWS_PER_CHUNK)
    ]


@torch.no_grad()
def _simplify_passes(
    rgb: torch.Tensor,
    style: CelStyle,
    tau: float,
    ink: tuple[float, float],
    clean: int,
    most: int,
    whole: torch.Tensor | None = None,
) -> torch.Tensor:
    """(B,): for each picture (cleaned by `clean` passes) the fewest simplifying passes (at
    most `most`) after which it holds no more ink, in picture sides, than its style
    (`CelStyle.ink_length`). A picture in one block stops at the pass every picture fits;
    `whole`: its cleaned fill weights, if the caller has them (else read in row blocks)."""
    b, h = rgb.shape[0], rgb.shape[-2]
    exporting = torch.compiler.is_exporting()
    context = clean + most  # what the ink after clean + 0 .. most - 1 passes reads
    one = exporting or whole is not None
    blocks = [(0, h, 0, h)] if one else _row_blocks(h, context)
    sides = torch.ones_like(rgb[0, 0]).sum().sqrt()  # (ONNX: a symbolic size)
    target = style.ink_length.to(rgb).view(-1, 1)
    sums = rgb.new_zeros(b, most)  # ink after 0 .. most - 1 passes: after `most`, any fits
    for r0, r1, lo, hi in blocks:
        if whole is not None:
            weights = whole.detach()
        else:
            weights = _clean_weights(rgb[..., lo:hi, :], style.palette, tau, clean)
        for n in range(most):
            if n:
                weights = _mode_pass(weights)
            amount = _ink_amount(weights, style.palette, ink)[..., r0 - lo : r1 - lo, :]
            sums[:, n] += amount.sum((1, 2, 3))
            if (
                len(blocks) == 1
                and not exporting
                and (sums[:, : n + 1] / sides <= target).any(1).all()
            ):
                break  # the passes after it are never chosen: their sums stay 0
    fits = sums / sides <= target
    fits = torch.cat([fits, torch.ones_like(fits[:, :1])], dim=1)  # the most always fits
    return fits.float().argmax(1)  # the first that fits


@in_fp32
def cel_render(
    change: torch.Tensor,
    photo: torch.Tensor,
    style: CelStyle,
    tau: float,
    ink: tuple[float, float] | None,
    simplify: int = 0,
    clean: int = 0,
    tone: float = 0.0,
) -> torch.Tensor:
    """The cel picture (B, 3, H, W) in [0, 1]: the photo (pixels) in the style's colours
    (`histogram_match` if the style has quantiles, else `pixel_adain`), its luma moved `tone`
    of the way to the style's tones (`tone_match`), the decoder's `change` added to its logits,
    filled with the style's palette (softness `tau`), cleaned by `clean` edge-aware passes,
    simplified by up to `simplify` passes to the style's ink length, and inked in its line
    colour between fills further apart than `ink` (None: no ink, no tone matching, no cleaning
    and no simplifying, as the identity images are decoded). Rendered in blocks of rows, so a
    12 MP photo never holds K full-size maps."""
    if ink is None:
        clean = simplify = tone = 0
    if tone > 0 and style.tones is None:
        raise ValueError("tone matching needs the style's tones: cel_style(..., tones=True)")
    if style.quantiles is None:
        base = pixel_adain(photo, style.mean, style.std)
    else:
        base = histogram_match(photo, style.quantiles)
    if tone > 0:
        base = tone_match(base, photo, style.tones, tone)
    rgb = torch.sigmoid(_logit(base) + change)
    passes = None
    h = rgb.shape[-2]
    if torch.compiler.is_exporting() or h <= ROWS_PER_CHUNK:  # ONNX: one symbolic height
        weights = _clean_weights(rgb, style.palette, tau, clean)  # once, for both
        if simplify > 0:
            passes = _simplify_passes(rgb, style, tau, ink, clean, simplify, whole=weights)
        return _paint(_simplified(weights, passes, simplify), style, ink)
    if simplify > 0:
        passes = _simplify_passes(rgb, style, tau, ink, clean, simplify)
    context = 1 + clean + (simplify if passes is not None else 0)
    out = []
    for r0, r1, lo, hi in _row_blocks(h, context):
        block = _render_rows(rgb[..., lo:hi, :], style, tau, ink, clean, passes, simplify)
        out.append(block[..., r0 - lo : r1 - lo, :])
    return torch.cat(out, dim=-2)


def cel_filter(
    photos: torch.Tensor,
    styles: torch.Tensor,
    k: int = CEL_COLORS,
    tau: float = CEL_TAU,
    ink: tuple[float, float] | None = CEL_INK,
    line: float = CEL_LINE,
    simplify: int = CEL_SIMPLIFY,
    clean: int = CEL_CLEAN,
    match: str = CEL_MATCH,
    tone: float = CEL_TONE,
) -> torch.Tensor:
    """What an untrained cel model paints (its change is zero): each photo (B, 3, H, W) in
    [0, 1] in the colours of its style image (B, 3, H', W'; `match` "histogram" or "adain"),
    `tone` of the way to its tones, filled with that image's palette, cleaned, simplified to
    its ink length and inked in its line colour. No network: the baseline a trained model must
    beat (`evaluate`'s "filter")."""
    hist = match == "histogram"
    style = cel_style(styles, k, line=line, tau=tau, ink=ink, quantiles=hist, tones=tone > 0)
    return cel_render(torch.zeros_like(photos), photos, style, tau, ink, simplify, clean, tone)
