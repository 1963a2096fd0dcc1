"""The losses: VGG19 perceptual terms, identity, TV, colour, and the adversarial pair; the frozen
VGG19 they compare in (`loss_net`) and the one weighted sum of them (`weighted_total`).

Each term has its weight in `TrainConfig` (`lambda_*`, 0 = off) and its source in a docstring.
Every image given here is ImageNet-normalised (the space `model(...)` returns); terms defined
on pixels convert with `function.to_pixels`. Every loss runs in fp32 with autocast off
(`function.in_fp32`), so fp16 AMP speeds up the networks but never sums squares in fp16.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .config import TrainConfig
from .function import (
    adaptive_instance_normalization,
    calc_mean_std,
    gaussian_blur,
    gram_matrix,
    in_fp32,
    mean_variance_norm,
    normalize,
    rgb_to_gray,
    rgb_to_yuv,
    to_pixels,
)
from .weights import PretrainedWeightsError, create_vgg19_features

# The generator's terms, in the order of history.csv, and the weight that switches each on.
TERMS = {
    "content": "lambda_content",
    "style": "lambda_style",
    "gram_gray": "lambda_gram_gray",
    "identity_pixel": "lambda_identity_pixel",
    "identity_feature": "lambda_identity_feature",
    "identity_edges": "lambda_identity_edges",
    "tv": "lambda_tv",
    "color": "lambda_color",
    "luma": "lambda_luma",
    "palette": "lambda_palette",
    "edges": "lambda_edges",
    "adv": "lambda_adv",
}


def wants_identity(cfg: TrainConfig) -> bool:
    """Whether the config trains on identity images (decode(AdaIN(c, c)), decode(AdaIN(s, s)))."""
    return any(
        w > 0
        for w in (cfg.lambda_identity_pixel, cfg.lambda_identity_feature, cfg.lambda_identity_edges)
    )


def active_terms(cfg: TrainConfig) -> list[str]:
    """The generator terms this config trains (content and style always, as the seed)."""
    return [t for t, w in TERMS.items() if t in ("content", "style") or getattr(cfg, w) > 0]


@dataclass
class Weighted:
    """The terms of one step (or one evaluation batch) weighted as the config says: `terms`
    each term x its weight, `weights` those weights, `rec` the sum of all but the adversarial
    term (the reconstruction), `total` rec + the weighted adversarial term: what the generator
    minimises. history.csv's `rec_loss` / `total_loss` and evaluate's `rec_loss` are these."""

    terms: dict[str, torch.Tensor]
    weights: dict[str, float | torch.Tensor]
    rec: torch.Tensor
    total: torch.Tensor


def weighted_total(
    cfg: TrainConfig, terms: dict[str, torch.Tensor], adv_weight: float | torch.Tensor | None = None
) -> Weighted:
    """THE weighted sum of `terms` (unweighted, by name: `perceptual_losses`, plus "adv"): each
    term times its `lambda_*`, the adversarial one times `adv_weight` when given (the adaptive
    weight); `rec` sums every weighted term but "adv", `total` adds it."""
    weights: dict[str, float | torch.Tensor] = {k: getattr(cfg, TERMS[k]) for k in terms}
    if "adv" in terms and adv_weight is not None:
        weights["adv"] = adv_weight
    weighted = {k: weights[k] * v for k, v in terms.items()}
    rec = sum(v for k, v in weighted.items() if k != "adv")
    total = rec + weighted["adv"] if "adv" in weighted else rec
    return Weighted(weighted, weights, rec, total)


def loss_net(cfg: TrainConfig, state: dict[str, torch.Tensor] | None = None) -> nn.Sequential:
    """The frozen VGG19 the perceptual terms compare in (torchvision's vgg19().features, eval
    mode, no gradients), owned by the training step: `state` when given (the VGG19 an older
    checkpoint carried: `checkpoint.split_loss_net`), else per `cfg`: pretrained from the hub
    or `vgg_weights_file`, or random from a generator seeded with `cfg.seed`, so a run with
    random weights compares in the same net when it trains, resumes and is evaluated."""
    vgg = create_vgg19_features(cfg, use_weights=state is None)
    if state is not None:
        missing, unexpected = vgg.load_state_dict(state, strict=False)
        if missing or unexpected:
            raise PretrainedWeightsError(
                f"the checkpoint's VGG19 is not torchvision's vgg19().features: missing "
                f"{missing[:5]}, unexpected {unexpected[:5]}"
            )
    return vgg


def vgg_features(
    vgg: nn.Sequential,
    x: torch.Tensor,
    layers: tuple[int, ...],
    drop: tuple[int, int] | None = None,
) -> list[torch.Tensor]:
    """Activations of `vgg` at the given layer indices, in order, stopping at the last one.
    `drop=(layer, n)`: after that layer the first n images go no further (one pass for images
    that need different depths: the deeper activations then hold the other images only)."""
    feats, last = [], max(layers)
    for i, module in enumerate(vgg):
        x = module(x)
        if i in layers:
            feats.append(x.float())  # losses in fp32, also under fp16 autocast
        if i == last:
            break
        if drop is not None and i == drop[0]:
            x = x[drop[1] :]
    return feats


@in_fp32
def content_loss(
    gen: torch.Tensor, target: torch.Tensor, criterion: str = "mse", norm: bool = False
) -> torch.Tensor:
    """MSE (the seed) or L1 (AnimeGANv2, CartoonGAN) between feature maps; with `norm`, of
    their mean-variance-normalised versions (StyTr2), so the style may move the statistics."""
    if norm:
        gen, target = mean_variance_norm(gen), mean_variance_norm(target)
    return F.l1_loss(gen, target) if criterion == "l1" else F.mse_loss(gen, target)


def _relative(loss: torch.Tensor, target: torch.Tensor, norm: bool, p: int = 2) -> torch.Tensor:
    """`loss` divided by the target's mean |x|^p when `norm`: the same term whatever the scale
    of the features (a random or a pretrained VGG19, 64 or 224 px)."""
    if not norm:
        return loss
    return loss / (target.detach().abs().pow(p).mean() + 1e-8)


@in_fp32
def style_loss(
    gen_feats: list[torch.Tensor],
    style_feats: list[torch.Tensor],
    kind: str = "mean_std",
    norm: bool = False,
) -> torch.Tensor:
    """Sum over layers of the MSE between channel statistics (mean/std, or Gram matrices);
    with `norm`, each layer's error relative to the style's own statistics (scale-free)."""
    total = gen_feats[0].new_zeros(())
    for g, s in zip(gen_feats, style_feats, strict=True):
        if kind == "mean_std":
            g_mean, g_std = calc_mean_std(g)
            s_mean, s_std = calc_mean_std(s)
            total = total + _relative(
                F.mse_loss(g_mean, s_mean) + F.mse_loss(g_std, s_std),
                torch.cat([s_mean, s_std]),
                norm,
            )
        elif kind == "gram":
            s_gram = gram_matrix(s)
            total = total + _relative(F.mse_loss(gram_matrix(g), s_gram), s_gram, norm)
        else:
            raise ValueError(f"unknown style loss {kind!r}: use mean_std or gram")
    return total


@in_fp32
def gram_gray_loss(gen: torch.Tensor, gray_style: torch.Tensor, norm: bool = False) -> torch.Tensor:
    """AnimeGANv2's style loss (`tools/ops.py`, style_loss/gram): L1 between the Gram matrices
    of the output and of the *grayscale* anime image. Grayscale, so it asks for the anime set's
    texture and lines, not its colours. Normalised by H x W only: AnimeGANv2 also divides by
    C, but its caffe-style VGG inputs (0-255) give features about 58x larger than torchvision's
    normalised ones, so neither its normalisation nor its weights carry over; with `norm` the
    error is relative to the style Gram's mean magnitude instead (scale-free)."""
    target = gram_matrix(gray_style)
    return _relative(F.l1_loss(gram_matrix(gen), target), target, norm, p=1)


def neighbour_differences(pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(vertical, horizontal) differences of neighbouring pixels: (..., H-1, W), (..., H, W-1)."""
    return pixels[..., 1:, :] - pixels[..., :-1, :], pixels[..., :, 1:] - pixels[..., :, :-1]


@in_fp32
def tv_loss(image: torch.Tensor, kind: str = "l2") -> torch.Tensor:
    """Total variation on pixels: AnimeGANv2's (`total_variation_loss`, "l2": mean squared
    neighbour differences / 2), which flattens noise but also softens every line, or the
    anisotropic L1 form (Rudin-Osher-Fatemi, "l1"), which flattens fills and keeps edges."""
    dh, dw = neighbour_differences(to_pixels(image))
    if kind == "l1":
        return (dh.abs().mean() + dw.abs().mean()) / 2
    return (dh.square().mean() + dw.square().mean()) / 2


@in_fp32
def luma_loss(
    generated: torch.Tensor,
    photo: torch.Tensor,
    sigma: float,
    close: int = 0,
    norm: bool = False,
) -> torch.Tensor:
    """L1 between the blurred luminance (Gaussian, `sigma` px) of output and photo: the photo's
    layout and shading in pixels, blind to colour. `close` > 0: the output's luminance is
    first closed (grey dilation then erosion, a `close` px square), so the thin dark lines a
    drawing adds cost nothing (without it, each outline is paid back by a bright halo beside
    it). `norm`: the output's blurred luminance is first given the photo's mean and standard
    deviation, so only the layout counts, not the tones (anime skin is lighter than a photo's).
    Needs no loss network: its scale is the same with random or pretrained weights."""
    y = rgb_to_gray(to_pixels(generated))[:, :1]
    if close > 0:
        y = grey_closing(y, close)
    g = gaussian_blur(y, sigma)
    p = gaussian_blur(rgb_to_gray(to_pixels(photo))[:, :1], sigma)
    if norm:
        g = adaptive_instance_normalization(g, p)
    return F.l1_loss(g, p)


def grey_closing(x: torch.Tensor, size: int) -> torch.Tensor:
    """Grey-level closing with an odd `size` x `size` square (max filter, then min filter;
    the borders see only pixels inside): dark lines and dots thinner than `size` px vanish,
    larger regions keep their edges."""
    dilated = F.max_pool2d(x, size, stride=1, padding=size // 2)
    return -F.max_pool2d(-dilated, size, stride=1, padding=size // 2)


def _sliced_w1(g: torch.Tensor, s: torch.Tensor, directions: int = 16) -> torch.Tensor:
    """Sliced Wasserstein-1 distance between two sets of vectors (B x N x D vs B x M x D): both
    projected on `directions` fixed random unit vectors (a fixed seed: deterministic and
    resume-safe), sorted, compared (L1); unequal N and M compare the same quantiles."""
    gen = torch.Generator().manual_seed(0)
    dirs = torch.randn(g.shape[-1], directions, generator=gen)
    dirs = (dirs / dirs.norm(dim=0, keepdim=True)).to(g.device)
    g, s = ((x @ dirs).transpose(1, 2).sort(-1).values for x in (g, s))  # B x directions x N
    if g.shape[-1] != s.shape[-1]:
        s = F.interpolate(s, size=g.shape[-1])
    return F.l1_loss(g, s)


@in_fp32
def palette_loss(
    generated: torch.Tensor, style: torch.Tensor, directions: int = 16
) -> torch.Tensor:
    """Sliced Wasserstein-1 distance between the pixel colours of output and style image (the
    histogram losses of Risser et al. 2017; sliced as in Heitz et al. 2021). The output must
    use the style's palette in the style's proportions: blended in-between colours (blur,
    halos) and hues the style lacks cost, flat fills of its colours do not. Pixels, no loss
    network."""
    g, s = (to_pixels(x).flatten(2).transpose(1, 2) for x in (generated, style))
    return _sliced_w1(g, s, directions)


@in_fp32
def edge_loss(generated: torch.Tensor, style: torch.Tensor, directions: int = 16) -> torch.Tensor:
    """Sliced Wasserstein-1 distance between the local gradients (x and y differences of R, G,
    B: 6 numbers per pixel) of output and style image: the histogram matching of filter
    responses of Heeger & Bergen 1995 ("Pyramid-based texture analysis/synthesis"), sliced as
    in Heitz et al. 2021. Lines and edges transfer from the style image as colours do in
    `palette_loss`: a blur thins out the large gradients a drawn edge has and costs; flat
    fills (zero gradient) with sharp edges in the style's share of pixels cost nothing."""

    def grads(x: torch.Tensor) -> torch.Tensor:
        dy, dx = neighbour_differences(to_pixels(x))  # both at the same (H-1) x (W-1) pixels
        return torch.cat([dx[..., :-1, :], dy[..., :, :-1]], 1).flatten(2).transpose(1, 2)

    return _sliced_w1(grads(generated), grads(style), directions)


@in_fp32
def color_loss(generated: torch.Tensor, photo: torch.Tensor) -> torch.Tensor:
    """AnimeGANv2's colour loss (`color_loss`): YUV of output vs photo, L1 on Y and Huber on
    U and V (tf.losses.huber_loss, delta 1), so the photo's colours survive the stylisation."""
    g, p = rgb_to_yuv(to_pixels(generated)), rgb_to_yuv(to_pixels(photo))
    return F.l1_loss(g[:, 0], p[:, 0]) + F.huber_loss(g[:, 1:], p[:, 1:], delta=1.0) * 2


@in_fp32
def identity_pixel_loss(
    id_images: tuple[torch.Tensor, torch.Tensor], inputs: tuple[torch.Tensor, torch.Tensor]
) -> torch.Tensor:
    """StyTr2's identity loss 1 (`models/StyTR.py`, loss_lambda1): decode(AdaIN(c, c)) should
    give back c and decode(AdaIN(s, s)) s; MSE in pixels, summed over the two."""
    return sum(
        F.mse_loss(to_pixels(i), to_pixels(x)) for i, x in zip(id_images, inputs, strict=True)
    )


@in_fp32
def identity_edge_loss(redrawn: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
    """L1 between the neighbour differences (x and y, R, G, B) of the redrawn style image
    decode(AdaIN(s, s)) and of s: the identity image's edges where the style's are, as sharp.
    Pixel MSE alone lets the decoder redraw a 1 px line as a soft one (a blur costs MSE little
    and L1 on gradients much: the gradient difference loss of Mathieu et al. 2016, "Deep
    multi-scale video prediction beyond mean square error", on signed differences); what the
    decoder cannot redraw it cannot transfer from a style image."""
    (r_dy, r_dx), (s_dy, s_dx) = (neighbour_differences(to_pixels(x)) for x in (redrawn, style))
    return (F.l1_loss(r_dx, s_dx) + F.l1_loss(r_dy, s_dy)) / 2


@in_fp32
def identity_feature_loss(
    id_feats: list[list[torch.Tensor]], input_feats: list[list[torch.Tensor]]
) -> torch.Tensor:
    """StyTr2's identity loss 2 (loss_lambda2): the same in VGG features, summed over layers."""
    return sum(
        F.mse_loss(a, b)
        for fi, fx in zip(id_feats, input_feats, strict=True)
        for a, b in zip(fi, fx, strict=True)
    )


def perceptual_losses(
    vgg: nn.Sequential,
    cfg: TrainConfig,
    generated: torch.Tensor,
    content: torch.Tensor,
    style: torch.Tensor,
    identity: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> dict[str, torch.Tensor]:
    """Every VGG-based and pixel term the config switches on, unweighted, by name.

    `batched_passes` runs the targets (content, style, grayscale style) through VGG in one
    no-grad pass and the outputs (generated and the identity images) in another; otherwise
    each image goes through separately, the seed's way. Same values either way.
    """
    layers = cfg.vgg_layers
    want_gray = cfg.lambda_gram_gray > 0
    targets = [content, style] + ([normalize(rgb_to_gray(to_pixels(style)))] if want_gray else [])
    id_feats = identity is not None and cfg.lambda_identity_feature > 0
    outputs = [generated] + (list(identity) if id_feats else [])
    k = cfg.content_layer
    with torch.no_grad():
        if cfg.batched_passes and id_feats:  # the identity terms need all of content's layers
            t_feats = _split(vgg_features(vgg, torch.cat(targets), layers), len(targets))
        elif cfg.batched_passes:  # one pass; content stops after the content layer
            n = len(content)
            feats = vgg_features(vgg, torch.cat(targets), layers, drop=(layers[k], n))
            t_feats = [[f[:n] for f in feats[: k + 1]]]
            rest = [f if i > k else f[n:] for i, f in enumerate(feats)]
            t_feats += _split(rest, len(targets) - 1)
        else:  # the seed's way: content only as deep as its terms need
            t_feats = [vgg_features(vgg, content, layers if id_feats else layers[: k + 1])]
            t_feats += [vgg_features(vgg, x, layers) for x in targets[1:]]
    if cfg.batched_passes:
        o_feats = _split(vgg_features(vgg, torch.cat(outputs), layers), len(outputs))
    else:
        o_feats = [vgg_features(vgg, x, layers) for x in outputs]
    gen_feats = o_feats[0]
    out = {
        "content": content_loss(
            gen_feats[k], t_feats[0][k], cfg.content_criterion, cfg.content_norm
        ),
        "style": style_loss(gen_feats, t_feats[1], cfg.style_loss, cfg.style_norm),
    }
    if want_gray:
        out["gram_gray"] = gram_gray_loss(
            gen_feats[cfg.gram_layer], t_feats[2][cfg.gram_layer], cfg.style_norm
        )
    if identity is not None:
        out["identity_pixel"] = identity_pixel_loss(identity, (content, style))
    if id_feats:
        out["identity_feature"] = identity_feature_loss(o_feats[1:], t_feats[:2])
    if identity is not None and cfg.lambda_identity_edges > 0:
        out["identity_edges"] = identity_edge_loss(identity[1], style)
    if cfg.lambda_tv > 0:
        out["tv"] = tv_loss(generated, cfg.tv_kind)
    if cfg.lambda_color > 0:
        out["color"] = color_loss(generated, content)
    if cfg.lambda_palette > 0:
        out["palette"] = palette_loss(generated, style)
    if cfg.lambda_edges > 0:
        out["edges"] = edge_loss(generated, style)
    if cfg.lambda_luma > 0:
        out["luma"] = luma_loss(
            generated, content, cfg.luma_blur * cfg.image_size, cfg.luma_close, cfg.luma_norm
        )
    return out


def _split(feats: list[torch.Tensor], n: int) -> list[list[torch.Tensor]]:
    """Per-layer features of n stacked equal batches -> per-batch lists of per-layer features."""
    chunks = [f.chunk(n) for f in feats]
    return [[c[i] for c in chunks] for i in range(n)]


# --- the adversarial pair ----------------------------------------------------------------------
@in_fp32
def generator_adv_loss(kind: str, fake_logits: torch.Tensor) -> torch.Tensor:
    """The generator's side (AnimeGANv2 `generator_loss`): LSGAN (D(fake) - 1)^2, or hinge
    -D(fake). The logits arrive in fp32 (`in_fp32`), whatever precision D ran in."""
    if kind == "hinge":
        return -fake_logits.mean()
    return (fake_logits - 1).square().mean()


@in_fp32
def discriminator_loss(
    kind: str, real: tuple[torch.Tensor, float], negatives: list[tuple[torch.Tensor, float]]
) -> torch.Tensor:
    """The discriminator's side (AnimeGANv2 `discriminator_loss`): weighted real anime logits
    -> 1 and each weighted negative (generated, edge-smoothed anime, grayscale anime) -> 0 for
    LSGAN; hinge with margins 1 otherwise. Logits and losses in fp32 (`in_fp32`)."""
    logits, weight = real
    if kind == "hinge":
        loss = weight * F.relu(1 - logits).mean()
        return loss + sum(w * F.relu(1 + n).mean() for n, w in negatives)
    loss = weight * (logits - 1).square().mean()
    return loss + sum(w * n.square().mean() for n, w in negatives)


# --- balance: each term's pull on the generator -----------------------------------------------
def grad_norms(
    weighted: dict[str, torch.Tensor], param: torch.Tensor, retain_graph: bool = True
) -> dict[str, float]:
    """The L2 norm of each (weighted) loss term's gradient with respect to `param` (the
    decoder's last layer): how hard each term pulls the output. Graph kept for the backward."""
    out = {}
    for name, loss in weighted.items():
        if not loss.requires_grad:
            out[name] = 0.0
            continue
        (g,) = torch.autograd.grad(loss, param, retain_graph=retain_graph, allow_unused=True)
        out[name] = 0.0 if g is None else float(g.float().norm())
    return out


def shares(norms: dict[str, float]) -> dict[str, float]:
    """Each term's share of the summed gradient norms (sums to 1; all 0 when nothing pulls)."""
    total = sum(norms.values())
    return {k: (v / total if total > 0 else 0.0) for k, v in norms.items()}


def adaptive_weight(
    rec: torch.Tensor, adv: torch.Tensor, param: torch.Tensor, max_weight: float = 1e4
) -> torch.Tensor:
    """VQGAN's adaptive adversarial weight (Esser et al. 2021, taming-transformers
    `calculate_adaptive_weight`): |grad rec| / (|grad adv| + 1e-4) at the decoder's last layer,
    clamped to [0, max_weight], detached. The adversary then pulls as hard as the
    reconstruction terms whatever their scale (random or pretrained VGG19, 64 or 224 px)."""
    (g_rec,) = torch.autograd.grad(rec, param, retain_graph=True)
    (g_adv,) = torch.autograd.grad(adv, param, retain_graph=True)
    weight = g_rec.float().norm() / (g_adv.float().norm() + 1e-4)
    return weight.clamp(0.0, max_weight).detach()


class BalanceMeans:
    """An epoch's mean loss-balance shares (`<term>_share`) and adaptive adversarial weight
    (`adv_weight`) over the good steps that measured them (already the same on every rank)."""

    def __init__(self) -> None:
        self.shares: dict[str, float] = {}
        self.n_shares = 0
        self.adv: list[float] = []

    def add(self, out: Any) -> None:
        """One step's `step.StepResult`."""
        if out.balance:
            for k, v in out.balance.items():
                self.shares[k] = self.shares.get(k, 0.0) + v
            self.n_shares += 1
        if out.adv_weight is not None:
            self.adv.append(out.adv_weight)

    def columns(self) -> dict[str, float]:
        cols = {f"{k}_share": v / self.n_shares for k, v in self.shares.items()}
        if self.adv:
            cols["adv_weight"] = sum(self.adv) / len(self.adv)
        return cols


def format_balance(shares: dict[str, float], when: str) -> str:
    """One log line: each term's share of the generator's gradient (decoder's last layer)."""
    parts = " | ".join(f"{k} {v:.0%}" for k, v in sorted(shares.items(), key=lambda kv: -kv[1]))
    return f"loss balance ({when}; share of the generator's gradient): {parts}"
