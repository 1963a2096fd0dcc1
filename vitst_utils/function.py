"""The math of style transfer, free of any network: feature statistics, AdaIN, image spaces."""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Callable
from typing import Any, TypeVar

import torch
import torch.nn.functional as F

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


# --- fp32 islands under fp16 autocast ---------------------------------------------------------
# Under torch.autocast(dtype=float16) a matmul runs in fp16 even on fp32 inputs, and a variance
# of fp16 features overflows past 65504: sums of squares over a feature map get there easily
# (pretrained VGG19 at relu4_1). Statistics and losses therefore run with autocast off, in fp32.
def fp32_region(x: torch.Tensor) -> torch.autocast:
    """A context in which autocast is off on `x`'s device (work there runs in its dtype)."""
    return torch.autocast(x.device.type, enabled=False)


def _to_float(obj: Any) -> Any:
    if isinstance(obj, torch.Tensor):
        return obj.float() if obj.is_floating_point() else obj
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_float(o) for o in obj)
    return obj


def _first_tensor(obj: Any) -> torch.Tensor | None:
    if isinstance(obj, torch.Tensor):
        return obj
    if isinstance(obj, (list, tuple)):
        return next((t for t in map(_first_tensor, obj) if t is not None), None)
    return None


_Fn = TypeVar("_Fn", bound=Callable[..., Any])


def fp16_on_cuda(device: torch.device) -> contextlib.AbstractContextManager:
    """Stylising's precision: fp16 autocast on CUDA (the T4's tensor cores); elsewhere none
    (the CPU runs its inference path, `cpu_paths.py`)."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.float16)
    return contextlib.nullcontext()


def in_fp32(fn: _Fn) -> _Fn:
    """Decorator: run `fn` with autocast off and every floating tensor argument (also inside
    lists and tuples) cast to fp32. A no-op for fp32 inputs outside autocast (bit-identical)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        anchor = _first_tensor(list(args) + list(kwargs.values()))
        if anchor is None:
            return fn(*args, **kwargs)
        with fp32_region(anchor):
            return fn(*_to_float(args), **{k: _to_float(v) for k, v in kwargs.items()})

    return wrapper  # type: ignore[return-value]


# --- statistics -------------------------------------------------------------------------------
@in_fp32
def calc_mean_std(feat: torch.Tensor, eps: float = 1e-5) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample, per-channel mean and std over the spatial dims, shaped (B, C, 1, 1); in fp32
    (also under fp16 autocast, where a variance above 65504 would be inf)."""
    if feat.dim() != 4:
        raise ValueError(f"expected a (B, C, H, W) feature map, got shape {tuple(feat.shape)}")
    b, c = feat.shape[:2]
    flat = feat.reshape(b, c, -1)
    std = (flat.var(dim=2) + eps).sqrt().view(b, c, 1, 1)
    mean = flat.mean(dim=2).view(b, c, 1, 1)
    return mean, std


def mean_variance_norm(feat: torch.Tensor) -> torch.Tensor:
    """Each channel to zero mean and unit std (StyTr2's `normal`): a content comparison that
    ignores the channel statistics the style is allowed to change."""
    mean, std = calc_mean_std(feat)
    return (feat - mean) / std


def adain_from_stats(content: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """Content features with their channel statistics replaced by (mean, std): (B|1, C, 1, 1)."""
    return mean_variance_norm(content) * std + mean


def adaptive_instance_normalization(content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
    """AdaIN (Huang & Belongie 2017): give the content features the style's channel mean/std."""
    if content.shape[:2] != style.shape[:2]:
        raise ValueError(
            f"content {tuple(content.shape)} and style {tuple(style.shape)} "
            "must agree on batch and channels"
        )
    return adain_from_stats(content, *calc_mean_std(style))


@in_fp32
def attention_normalization(
    normalised: torch.Tensor,
    style: torch.Tensor,
    query: torch.Tensor,
    key: torch.Tensor,
    bias: torch.Tensor | None = None,
    chunk: int = 4096,
) -> torch.Tensor:
    """AdaAttN (Liu et al. 2021, "AdaAttN: Revisit Attention Mechanism in Arbitrary Neural
    Style Transfer"): AdaIN per content position, the style's mean and std weighted by
    attention instead of taken over the whole image. `normalised`: the content features
    (B, C, H, W) at zero mean and unit std per channel; `style`: (B | 1, C, Hs, Ws); `query`
    (B, K, H, W) and `key` (B | 1, K, Hs, Ws): their projections; the attention is
    softmax(query . key / sqrt(K) + `bias`) over the style positions (`bias`: (B | 1, Hs Ws),
    e.g. log blend weights). Uniform attention gives AdaIN (with the population std); sharp
    attention copies the matched style features, so local style (lines, fills, patterns)
    transfers, not only global statistics. In fp32 (the variance is E[v^2] - E[v]^2), in
    chunks of `chunk` content positions: memory linear in the content's size."""
    b, c, h, w = normalised.shape
    k = key.flatten(2) / math.sqrt(key.shape[1])  # B x K x Ns
    v = style.flatten(2).transpose(1, 2)  # B x Ns x C
    v2 = v.square()  # once, not per chunk
    q_all = query.flatten(2).transpose(1, 2)  # B x Nc x K
    n_all = normalised.flatten(2).transpose(1, 2)  # B x Nc x C
    outs = []
    for i in range(0, h * w, chunk):
        logits = q_all[:, i : i + chunk] @ k
        if bias is not None:
            logits = logits + bias.unsqueeze(1)
        attn = torch.softmax(logits, dim=-1)  # B x n x Ns
        mean = attn @ v
        std = (attn @ v2 - mean.square()).clamp_min(0).add(1e-5).sqrt()
        outs.append(n_all[:, i : i + chunk] * std + mean)
    return torch.cat(outs, 1).transpose(1, 2).reshape(b, c, h, w)


@in_fp32
def gram_matrix(feat: torch.Tensor) -> torch.Tensor:
    """Channel correlation (B, C, C), normalised by the number of elements per channel map.
    In fp32 with autocast off, each factor scaled by 1/sqrt(N) before the product: under fp16
    autocast `f @ f.T` over 784 positions overflowed once a channel's RMS passed about 9."""
    b, c = feat.shape[:2]
    flat = feat.reshape(b, c, -1)
    flat = flat / math.sqrt(flat.shape[2])
    return flat @ flat.transpose(1, 2)


# --- image spaces ---------------------------------------------------------------------------
def _stats(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    mean = torch.tensor(IMAGENET_MEAN, dtype=x.dtype, device=x.device).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD, dtype=x.dtype, device=x.device).view(3, 1, 1)
    return mean, std


def normalize(pixels: torch.Tensor) -> torch.Tensor:
    """[0, 1] RGB pixels to the ImageNet-normalised space every input and target lives in."""
    mean, std = _stats(pixels)
    return (pixels - mean) / std


def to_pixels(normalized: torch.Tensor) -> torch.Tensor:
    """Undo `normalize` (no clamping: differentiable, for losses)."""
    mean, std = _stats(normalized)
    return normalized * std + mean


def rgb_to_gray(pixels: torch.Tensor) -> torch.Tensor:
    """Rec. 601 luma as a 3-channel image (B, 3, H, W), as AnimeGANv2's grayscale anime."""
    r, g, b = pixels.unbind(-3)
    y = 0.299 * r + 0.587 * g + 0.114 * b
    return y.unsqueeze(-3).expand_as(pixels)


def rgb_to_yuv(pixels: torch.Tensor) -> torch.Tensor:
    """[0, 1] RGB to YUV (the matrix of AnimeGANv2's `rgb2yuv`, tf.image.rgb_to_yuv)."""
    m = torch.tensor(
        [
            [0.299, 0.587, 0.114],
            [-0.14714119, -0.28886916, 0.43601035],
            [0.61497538, -0.51496512, -0.10001026],
        ]
    )
    return _mix(m, pixels)


def _mix(matrix: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """A 3 x 3 colour matrix applied to every pixel of a (B, 3, H, W) batch."""
    return torch.einsum("ij,bjhw->bihw", matrix.to(x.device, x.dtype), x)


def _gaussian_kernel(size: int, sigma: float, device, dtype) -> torch.Tensor:
    x = torch.arange(size, device=device, dtype=dtype) - (size - 1) / 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    g = g / g.sum()
    return (g[:, None] * g[None, :]).expand(3, 1, size, size)


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """A separable Gaussian blur of (B, C, H, W) images (any C), reflection-padded, kernel
    2 * ceil(3 sigma) + 1 wide (clamped to the image); sigma <= 0 returns `x`."""
    if sigma <= 0:
        return x
    radius = min(int(math.ceil(3 * sigma)), x.shape[-1] - 1, x.shape[-2] - 1)
    t = torch.arange(-radius, radius + 1, device=x.device, dtype=x.dtype)
    g = torch.exp(-(t**2) / (2 * sigma**2))
    g = (g / g.sum()).view(1, 1, 1, -1).expand(x.shape[1], 1, 1, -1)
    x = F.conv2d(F.pad(x, (radius, radius, 0, 0), mode="reflect"), g, groups=x.shape[1])
    return F.conv2d(
        F.pad(x, (0, 0, radius, radius), mode="reflect"), g.transpose(-1, -2), groups=x.shape[1]
    )


def diff_augment(x: torch.Tensor, policy: str) -> torch.Tensor:
    """DiffAugment (Zhao et al. 2020, mit-han-lab/data-efficient-gans `DiffAugment_pytorch.py`):
    the same random, differentiable augmentations of every image a discriminator sees, real
    or generated, so that on a few hundred images it cannot memorise the real ones. `policy`:
    comma-separated `color` (brightness, saturation, contrast), `translation` (up to 1/8 of the
    side, zero fill), `cutout` (a square of half the side set to 0); "" returns `x`. Works on
    any (B, C, H, W) batch (here ImageNet-normalised images, where 0 is the mean colour)."""
    for name in filter(None, (p.strip() for p in policy.split(","))):
        b, dev = x.shape[0], x.device
        if name == "color":
            x = x + (torch.rand(b, 1, 1, 1, device=dev) - 0.5)
            mean = x.mean(1, keepdim=True)
            x = (x - mean) * (torch.rand(b, 1, 1, 1, device=dev) * 2) + mean
            mean = x.mean((1, 2, 3), keepdim=True)
            x = (x - mean) * (torch.rand(b, 1, 1, 1, device=dev) + 0.5) + mean
        elif name == "translation":
            h, w = x.shape[-2:]
            sh, sw = int(h * 0.125 + 0.5), int(w * 0.125 + 0.5)
            dy = torch.randint(-sh, sh + 1, (b, 1, 1), device=dev)
            dx = torch.randint(-sw, sw + 1, (b, 1, 1), device=dev)
            yy = torch.arange(h, device=dev).view(1, h, 1) + dy + 1
            xx = torch.arange(w, device=dev).view(1, 1, w) + dx + 1
            padded = F.pad(x, (1, 1, 1, 1))
            yy, xx = yy.clamp(0, h + 1).expand(b, h, w), xx.clamp(0, w + 1).expand(b, h, w)
            idx = torch.arange(b, device=dev).view(b, 1, 1)
            x = padded.permute(0, 2, 3, 1)[idx, yy, xx].permute(0, 3, 1, 2)
        elif name == "cutout":
            h, w = x.shape[-2:]
            ch, cw = int(h * 0.5 + 0.5), int(w * 0.5 + 0.5)
            cy = torch.randint(0, h + (1 - ch % 2), (b, 1, 1), device=dev)
            cx = torch.randint(0, w + (1 - cw % 2), (b, 1, 1), device=dev)
            yy = torch.arange(h, device=dev).view(1, h, 1)
            xx = torch.arange(w, device=dev).view(1, 1, w)
            inside = ((yy - cy + ch // 2).clamp(0) < ch) & ((yy - cy + ch // 2) >= 0)
            inside = inside & ((xx - cx + cw // 2) >= 0) & ((xx - cx + cw // 2) < cw)
            x = x * (~inside).unsqueeze(1).to(x.dtype)
        else:
            raise ValueError(f"unknown DiffAugment policy {name!r}: use color, translation, cutout")
    return x


def edge_mask(pixels: torch.Tensor, threshold: float = 100.0, dilate: int = 5) -> torch.Tensor:
    """Pixels near an edge, (B, 1, H, W) bool: Sobel gradient magnitude (|gx| + |gy| on 0-255
    gray, OpenCV's Canny L1 measure) over `threshold` (Canny's low threshold in AnimeGANv2),
    dilated by a `dilate` x `dilate` square as AnimeGANv2's edge_smooth does."""
    gray = rgb_to_gray(pixels)[:, :1] * 255.0
    sobel = torch.tensor(
        [[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]], device=pixels.device
    )
    kernels = torch.stack([sobel, sobel.t()]).unsqueeze(1).to(pixels.dtype)
    grad = F.conv2d(F.pad(gray, (1, 1, 1, 1), mode="replicate"), kernels)
    edges = (grad.abs().sum(1, keepdim=True) > threshold).to(pixels.dtype)
    return F.max_pool2d(edges, dilate, stride=1, padding=dilate // 2) > 0


def edge_smooth(pixels: torch.Tensor, kernel: int = 5, sigma: float = 1.1) -> torch.Tensor:
    """Anime images with their edges blurred and nothing else (CartoonGAN's and AnimeGANv2's
    negatives for the discriminator: "anime colours, but no crisp lines"). A 5 x 5 Gaussian
    (OpenCV's sigma for that size: 0.3 * ((5 - 1) * 0.5 - 1) + 0.8 = 1.1) replaces the pixels
    that `edge_mask` marks; the rest is returned unchanged."""
    pad = kernel // 2
    w = _gaussian_kernel(kernel, sigma, pixels.device, pixels.dtype)
    blurred = F.conv2d(F.pad(pixels, (pad,) * 4, mode="reflect"), w, groups=3)
    return torch.where(edge_mask(pixels), blurred, pixels)


# --- colour preservation ----------------------------------------------------------------------
# Full-range BT.601 YCbCr (JPEG's); pixels in [0, 1], Cb and Cr centred on 0.
_YCBCR = (
    (0.299, 0.587, 0.114),
    (-0.168736, -0.331264, 0.5),
    (0.5, -0.418688, -0.081312),
)


def rgb_to_ycbcr(pixels: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) RGB pixels in [0, 1] -> Y in [0, 1], Cb and Cr in [-0.5, 0.5]."""
    return _mix(torch.tensor(_YCBCR), pixels)


def ycbcr_to_rgb(ycbcr: torch.Tensor) -> torch.Tensor:
    """Undo `rgb_to_ycbcr`."""
    return _mix(torch.linalg.inv(torch.tensor(_YCBCR)), ycbcr)


def luminance_transfer(output: torch.Tensor, photo: torch.Tensor) -> torch.Tensor:
    """Keep the photo's colours: Y (brightness) from the output, Cb/Cr (chroma) from the photo
    (Gatys et al. 2016, "Preserving color in neural artistic style transfer": luminance-only
    transfer). Both are (B, 3, H, W) pixels in [0, 1]; the result is clamped to [0, 1]."""
    y = rgb_to_ycbcr(output)[:, :1]
    chroma = rgb_to_ycbcr(photo)[:, 1:]
    return ycbcr_to_rgb(torch.cat([y, chroma], 1)).clamp(0, 1)


def _whiten(image: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """(standardised pixels (3, N), mean, std, their covariance) of a (3, H, W) image, fp64."""
    f = image.reshape(3, -1).double()
    mean, std = f.mean(-1, keepdim=True), f.std(-1, keepdim=True).clamp_min(1e-6)
    norm = (f - mean) / std
    eye = torch.eye(3, dtype=torch.float64, device=f.device)
    return norm, mean, std, norm @ norm.T / norm.shape[1] + 1e-5 * eye


def _mat_sqrt(m: torch.Tensor) -> torch.Tensor:
    u, d, v = torch.linalg.svd(m)
    return u @ torch.diag(d.sqrt()) @ v


def coral(source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """`source` pixels (3, H, W) with the colour mean and covariance of `target` (3, H', W'):
    pytorch-AdaIN's `function.coral` (CORAL, Sun et al. 2016), which its `test.py` applies to
    the style image before stylising when `--preserve_color` is given. One change: the
    covariances are averaged over pixels (theirs are sums plus the identity, which leaves the
    result off by the ratio of the pixel counts when the two images differ in size)."""
    s_norm, _, _, s_cov = _whiten(source)
    _, t_mean, t_std, t_cov = _whiten(target)
    moved = _mat_sqrt(t_cov) @ torch.linalg.inv(_mat_sqrt(s_cov)) @ s_norm
    return (moved * t_std + t_mean).reshape(source.shape).to(source.dtype)
