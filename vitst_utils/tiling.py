"""Stylising at any size at a cost linear in pixels, with bounded memory and no seams.

The ViT attends globally, so one pass over a whole photo costs the square of its pixels (a
12 MP photo: 190 000 tokens, an attention matrix of 860 GB). Instead:

1. **Encode in overlapping windows of the training size** (the scale and the grid the model was
   trained on: 224 px, 28 x 28 tokens for `anime`), a few windows per call. Each window's token
   map is weighted by a feathered ramp (linear over `overlap` tokens at every side it shares with
   a neighbour, flat at the photo's borders) and the maps are blended: weighted sum / sum of
   weights. The blend is a convex combination, continuous across window borders: no seam.
2. **AdaIN with global statistics**: the content mean and std are taken over the whole blended
   map, so the result does not depend on where the windows fall (as a direct pass would).
3. **Decode in tiles with a halo** of at least the decoder's receptive field (`decoder_halo`;
   3 tokens for `anime`'s upsampling decoder), each tile cropped back to its interior: the tiled
   decode equals the whole-map decode (the decoder is local: convolutions, nearest upsampling,
   pointwise activations), while memory stays bounded (a 12 MP photo's 64-channel full-resolution
   activation alone is 3 GB in fp32).
4. **Render once** (`finish`, the model's `render`): the stitched decoder output becomes the
   picture; a cel model (`cel.py`) paints it over the photo with the style's palette and ink,
   in blocks of rows.

A photo whose token grid holds at most `direct_tokens` windows' worth of tokens is one window
(the whole photo, global attention as before): the default size (a 4:3 photo at 224 px short
side, 28 x 38 tokens) keeps today's picture exactly. Cost: windows x the cost of a training-size
pass, i.e. linear in pixels; memory: the blended map (C floats per token: 0.9 GB for `anime` at
12 MP) plus one window batch and one decoder tile.

What the model draws keeps its scale: a window is a training-size crop of the photo at `--size`,
so strokes keep the width (in output pixels) they have at the training size; on a larger photo
they are thinner relative to the face. The seed's decoder normalises over the whole map
(InstanceNorm), so it is decoded in one piece (no halo makes tiles exact there).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from .function import adain_from_stats, calc_mean_std

Encode = Callable[[torch.Tensor], torch.Tensor]  # normalised (N, 3, h, w) -> (N, C, h/p, w/p)
Decode = Callable[[torch.Tensor], torch.Tensor]  # (N, C, h, w) features -> (N, 3, h*p, w*p)
Finish = Callable[[torch.Tensor], torch.Tensor]  # the stitched decoder output -> the picture
Normalise = Callable[[torch.Tensor], torch.Tensor]  # features -> their normalised form
# (features, their normalised form or None) -> the stylised features (an attention model's)
Attend = Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor]


@dataclass(frozen=True)
class Tiling:
    """How a large photo is cut. `window`: encoder window side in pixels (None: the model's
    training size); `overlap`: tokens shared by neighbouring windows, feathered; `direct_tokens`:
    grids up to this many windows' tokens go through the encoder whole; `tile`: decoder tile
    side in tokens (None: decode in one piece); `batch`: windows per encoder call."""

    window: int | None = None
    overlap: int = 4
    direct_tokens: float = 2.0
    tile: int | None = 48
    batch: int = 4

    def __post_init__(self) -> None:
        if self.overlap < 0 or self.batch < 1 or (self.tile is not None and self.tile < 1):
            raise ValueError(f"invalid {self}: overlap >= 0, batch >= 1, tile >= 1 or None")


DIRECT = Tiling(direct_tokens=math.inf, tile=None)  # the whole photo in one pass, as before


def window_starts(n: int, window: int, overlap: int) -> list[int]:
    """Starts of windows of min(window, n) tokens covering [0, n), spread evenly, neighbours
    sharing at least `overlap` tokens."""
    window = min(window, n)
    if window == n:
        return [0]
    stride = max(1, window - overlap)
    k = math.ceil((n - window) / stride)
    return [round(i * (n - window) / k) for i in range(k + 1)]


def feather(size: int, overlap: int, ramp_start: bool, ramp_end: bool) -> torch.Tensor:
    """(size,) weights: 1 inside, a linear ramp over `overlap` tokens at the ends that meet a
    neighbouring window; never 0, so a token covered by one window keeps its value exactly."""
    w = torch.ones(size)
    if overlap > 0:
        i = torch.arange(size, dtype=torch.float32) + 0.5
        if ramp_start:
            w = torch.minimum(w, i / overlap)
        if ramp_end:
            w = torch.minimum(w, (size - i) / overlap)
    return w


def decoder_halo(model: nn.Module) -> int | None:
    """Tokens of context a decoder tile needs on each side so its interior equals the whole-map
    decode: the receptive-field radius of `model.fuse` + `model.decoder`, rounded up, in token
    units. None when the decoder is not local (a normalisation over the whole map)."""
    radius, scale = 0.0, 1.0  # scale: pixels per token at the current layer
    layers = [*_flat(model.fuse), *_flat(model.decoder)]
    for m in layers:
        if isinstance(m, nn.Conv2d):
            k, d = m.kernel_size[0], m.dilation[0]
            radius += d * (k - 1) / 2 / scale
            scale /= m.stride[0]
        elif isinstance(m, nn.ConvTranspose2d):
            radius += math.ceil((m.kernel_size[0] - 1) / 2 / m.stride[0]) / scale
            scale *= m.stride[0]
        elif isinstance(m, nn.Upsample) and m.mode == "nearest":
            scale *= float(m.scale_factor)
        elif not isinstance(
            m, (nn.ReflectionPad2d, nn.ReLU, nn.LeakyReLU, nn.Tanh, nn.Sigmoid, nn.Identity)
        ):
            return None  # InstanceNorm & co: the output depends on the whole map
    return math.ceil(radius)


def _flat(module: nn.Module) -> list[nn.Module]:
    children = list(module.children())
    return [module] if not children else [m for c in children for m in _flat(c)]


@torch.no_grad()
def encode_blended(
    encode: Encode, photos: torch.Tensor, patch: int, window: int, tiling: Tiling
) -> torch.Tensor:
    """The token maps (B, C, H/p, W/p) of photos (B, 3, H, W), H and W multiples of `patch`:
    one pass when the grid fits `tiling.direct_tokens` windows, else overlapping `window`-pixel
    windows (`tiling.batch` per call), feathered and blended, in fp32."""
    b, _, hp, wp = photos.shape
    h, w, win = hp // patch, wp // patch, max(1, window // patch)
    if h * w <= tiling.direct_tokens * win * win:
        return encode(photos).float()
    rows, cols = window_starts(h, win, tiling.overlap), window_starts(w, win, tiling.overlap)
    wh, ww = min(win, h), min(win, w)
    wr = [feather(wh, tiling.overlap, r > 0, r + wh < h) for r in rows]
    wc = [feather(ww, tiling.overlap, c > 0, c + ww < w) for c in cols]
    boxes = [(i, r, c) for i in range(b) for r in range(len(rows)) for c in range(len(cols))]
    canvas = weight = None
    for k in range(0, len(boxes), tiling.batch):
        chunk = boxes[k : k + tiling.batch]
        crops = torch.cat(
            [
                photos[i : i + 1, :, rows[r] * patch :, cols[c] * patch :][
                    ..., : wh * patch, : ww * patch
                ]
                for i, r, c in chunk
            ]
        )
        feats = encode(crops).float()
        if canvas is None:
            canvas = feats.new_zeros(b, feats.shape[1], h, w)
            weight = feats.new_zeros(b, 1, h, w)
        for (i, r, c), f in zip(chunk, feats, strict=True):
            wgt = (wr[r][:, None] * wc[c][None, :]).to(f)
            y, x = rows[r], cols[c]
            canvas[i, :, y : y + wh, x : x + ww].addcmul_(f, wgt)
            weight[i, :, y : y + wh, x : x + ww] += wgt
    return canvas.div_(weight)


def restyle(
    feat: torch.Tensor,
    mean: torch.Tensor,
    std: torch.Tensor,
    alpha: float,
    normalise: Normalise | None = None,
    attend: Attend | None = None,
) -> torch.Tensor:
    """alpha * AdaIN(feat -> mean, std) + (1 - alpha) * feat, with `feat`'s own statistics over
    all of it (or `normalise(feat)` as the normalised content: video smooths it over time);
    `attend`: an attention model's fusion with its style images instead of AdaIN (then `mean`
    and `std` are not used). Small maps: `adain_from_stats` as ever; large ones (over 2**24
    values) in place, one fused affine per channel, so a 12 MP map is not copied three times."""
    mean, std = mean.to(feat), std.to(feat)
    if normalise is not None or attend is not None or feat.numel() <= 2**24:
        if not alpha:
            return feat
        if attend is not None:
            target = attend(feat, normalise(feat) if normalise is not None else None)
        elif normalise is None:
            target = adain_from_stats(feat, mean, std)
        else:
            target = normalise(feat) * std + mean
        return alpha * target + (1 - alpha) * feat if alpha < 1 else target
    c_mean, c_std = calc_mean_std(feat)
    scale = alpha * std / c_std + (1 - alpha)
    shift = alpha * (mean - std / c_std * c_mean)
    return feat.mul_(scale).add_(shift)


@torch.no_grad()
def decode_tiled(decode: Decode, feat: torch.Tensor, scale: int, tile: int | None, halo: int):
    """decode(feat) (B, 3, H*scale, W*scale), in tiles of `tile` tokens with `halo` tokens of
    context, each cropped to its interior; one piece when the map fits one tile."""
    b, _, h, w = feat.shape
    if tile is None or (h <= tile and w <= tile):
        return decode(feat)
    out = None
    for r0 in range(0, h, tile):
        for c0 in range(0, w, tile):
            r1, c1 = min(r0 + tile, h), min(c0 + tile, w)
            a0, b0 = max(0, r0 - halo), max(0, c0 - halo)
            y = decode(feat[:, :, a0 : min(h, r1 + halo), b0 : min(w, c1 + halo)])
            if out is None:
                out = y.new_empty(b, y.shape[1], h * scale, w * scale, dtype=torch.float32)
            top, left = (r0 - a0) * scale, (c0 - b0) * scale
            out[..., r0 * scale : r1 * scale, c0 * scale : c1 * scale] = y[
                ..., top : top + (r1 - r0) * scale, left : left + (c1 - c0) * scale
            ]
    return out


def stylize_tiled(
    model: nn.Module,
    photos: torch.Tensor,
    mean: torch.Tensor,
    std: torch.Tensor,
    alpha: float = 1.0,
    tiling: Tiling | None = None,
    encode: Encode | None = None,
    decode: Decode | None = None,
    normalise: Normalise | None = None,
    attend: Attend | None = None,
    finish: Finish | None = None,
) -> torch.Tensor:
    """finish(decode(restyle(encode(photos)))) at any size: normalised photos (B, 3, H, W), H
    and W multiples of the patch, to normalised (B, 3, H, W). `encode`/`decode` default to the
    model's own `encode`/`decode_raw` (an inference path may bring faster ones, see
    `cpu_paths`), `finish` to its `render` (a cel model's needs the photo and style: `transfer`
    gives it); `normalise` and `attend` as in `restyle`."""
    tiling = tiling or Tiling()
    window = tiling.window or model.image_size
    return stylize_pieces(
        encode or model.encode,
        decode or model.decode_raw,
        photos,
        mean,
        std,
        alpha,
        model.patch_size,
        window,
        decoder_halo(model),
        tiling,
        normalise,
        attend,
        finish or model.render,
    )


def stylize_pieces(
    encode: Encode,
    decode: Decode,
    photos: torch.Tensor,
    mean: torch.Tensor,
    std: torch.Tensor,
    alpha: float,
    patch: int,
    window: int,
    halo: int | None,
    tiling: Tiling,
    normalise: Normalise | None = None,
    attend: Attend | None = None,
    finish: Finish | None = None,
) -> torch.Tensor:
    """`stylize_tiled` from its pieces: any encoder and decoder (PyTorch, ONNX Runtime), the
    patch, the window in pixels, the decoder's halo (None: decode in one piece) and what turns
    the stitched decoder output into the picture (None: it is the picture)."""
    feat = encode_blended(encode, photos, patch, window, tiling)
    target = restyle(feat, mean, std, alpha, normalise, attend)
    tile = tiling.tile if halo is not None else None
    out = decode_tiled(decode, target, patch, tile, halo or 0)
    return finish(out) if finish is not None else out
