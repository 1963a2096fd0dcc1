"""Image metrics for stylised portraits: the weight-free ones (structure kept, crispness,
identity), and the math of the feature ones (FID, KID, LPIPS) given their networks
(`metric_weights.py`).

Each takes [0, 1] pixel batches (B, 3, H, W) (or features) and returns plain floats, so
`evaluate` can score outputs of vitst and of any other tool alike. None of the weight-free ones
rewards a blank or blurred picture: a flat output keeps no structure (0) and has no crisp edge
(0), a blurred one is not crisp.
"""

from __future__ import annotations

import math
import warnings

import torch
import torch.nn.functional as F
from torch import nn

from .function import gaussian_blur, rgb_to_gray

HIGHER_IS_BETTER = {
    "domain_score": True,  # looks like anime
    "crispness": True,  # drawn, not blurred (compare with the anime baseline)
    "structure": True,  # keeps the photo's layout (the photo itself scores 1)
    "identity_top1": True,  # its own photo is the nearest (chance: 1 / pairs)
    "identity_cos": True,  # the same person to a face recogniser (the photo itself: 1)
    "fid": False,
    "kid": False,
    "lpips": False,  # perceptual distance to the photo: lower keeps the person
    "art_fid": False,
}

METRICS = tuple(HIGHER_IS_BETTER)


def _luma(pixels: torch.Tensor) -> torch.Tensor:
    """(B, 1, H, W) Rec. 601 luma of [0, 1] RGB pixels, fp32."""
    return rgb_to_gray(pixels.float())[:, :1]


def structure_map(
    photos: torch.Tensor, images: torch.Tensor, eps: float = 1e-5
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-pixel local correlation of blurred luminance between photos and images, and the
    photos' local contrast that weights it (both (B, 1, H, W)).

    Luminance is blurred (sigma = side / 64) so line art and texture the style adds do not
    count, then compared in Gaussian windows (sigma = side / 16) as Pearson correlation
    cov / sqrt(var_p var_i + eps^2). SSIM's structure term is (cov + C) / (s_p s_i + C), which
    is 1 for a flat output; this is 0 for it."""
    side = min(photos.shape[-2:])
    blur, window = max(0.5, side / 64), max(1.5, side / 16)
    a = gaussian_blur(_luma(photos), blur)
    b = gaussian_blur(_luma(images), blur)
    mu_a, mu_b = gaussian_blur(a, window), gaussian_blur(b, window)
    var_a = (gaussian_blur(a * a, window) - mu_a**2).clamp_min(0)
    var_b = (gaussian_blur(b * b, window) - mu_b**2).clamp_min(0)
    cov = gaussian_blur(a * b, window) - mu_a * mu_b
    return cov / torch.sqrt(var_a * var_b + eps**2), var_a.sqrt()


def structure_score(photos: torch.Tensor, images: torch.Tensor) -> float:
    """How much of the photo's layout the images keep: the local correlation of blurred
    luminance (`structure_map`), averaged with the photo's local contrast as weight (flat
    photo areas have no structure to keep). 1 for the photo itself, about 0 for a flat or
    unrelated image, negative for an inverted one."""
    if photos.shape != images.shape:
        raise ValueError(f"photos {tuple(photos.shape)} and images {tuple(images.shape)} differ")
    rho, weight = structure_map(photos, images)
    per_image = (rho * weight).flatten(1).sum(1) / weight.flatten(1).sum(1).clamp_min(1e-8)
    return float(per_image.mean())


def crispness_per_image(images: torch.Tensor, h_size: int = 11) -> torch.Tensor:
    """1 - the no-reference blur measure of Crete-Roffet et al. 2007 ("The blur effect"), the
    one skimage.measure.blur_effect computes: how much of the image's neighbour differences a
    further (1 x h_size box) blur removes, the worse direction of rows and columns. Crisp line
    art loses much (near 1), an already blurred image little, a flat image has nothing: 0."""
    y = _luma(images)
    scores = []
    for dim in (-1, -2):  # along rows, then along columns
        kernel = torch.full((1, 1, 1, h_size), 1.0 / h_size, device=y.device)
        if dim == -2:
            kernel = kernel.transpose(-1, -2)
        pad = [h_size // 2] * 2 + [0, 0] if dim == -1 else [0, 0] + [h_size // 2] * 2
        blurred = F.conv2d(F.pad(y, pad, mode="reflect"), kernel)
        d_f, d_b = y.diff(dim=dim).abs(), blurred.diff(dim=dim).abs()
        crop = (..., slice(2, -1), slice(2, -1))  # borders, as skimage
        s_f = d_f[crop].flatten(1).sum(1)
        s_v = (d_f - d_b).clamp_min(0)[crop].flatten(1).sum(1)
        scores.append(torch.where(s_f > 1e-6, s_v / s_f.clamp_min(1e-6), torch.zeros_like(s_f)))
    return torch.minimum(*scores)  # 1 - max(blur_rows, blur_cols)


def crispness(images: torch.Tensor) -> float:
    """Mean `crispness_per_image` (higher = crisper; compare with the anime baseline)."""
    return float(crispness_per_image(images).mean())


def edge_features(pixels: torch.Tensor, cells: int = 8, bins: int = 9) -> torch.Tensor:
    """(B, cells * cells * bins) histograms of unsigned gradient orientation weighted by
    magnitude (HOG, Dalal & Triggs 2005, without block normalisation) of the blurred
    luminance, L2-normalised. Unsigned orientation and luminance only: what stays of a face's
    layout when the colours, the fills and even the brightness order of regions change."""
    side = min(pixels.shape[-2:])
    y = gaussian_blur(_luma(pixels), max(0.5, side / 64))
    gx = F.pad(y[..., :, 2:] - y[..., :, :-2], (1, 1, 0, 0), mode="replicate")
    gy = F.pad(y[..., 2:, :] - y[..., :-2, :], (0, 0, 1, 1), mode="replicate")
    mag = torch.sqrt(gx**2 + gy**2)
    angle = torch.atan2(gy, gx) % math.pi
    index = (angle / math.pi * bins).long().clamp(max=bins - 1)
    hist = torch.zeros(y.shape[0], bins, *y.shape[-2:], device=y.device)
    hist.scatter_(1, index, mag)
    hist = F.adaptive_avg_pool2d(hist, cells).flatten(1)
    return F.normalize(hist.sqrt(), dim=1)  # Hellinger: no single strong edge dominates


def identity_ranks(photos: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
    """For each image i, the rank (0 = first) of its own photo i among all photos, by cosine
    similarity of `edge_features`: identity retrieval without any face-recognition weights."""
    if len(photos) != len(images):
        raise ValueError(f"{len(photos)} photos but {len(images)} images: they must pair up")
    sim = edge_features(images) @ edge_features(photos).T  # (images, photos)
    own = sim.diagonal().unsqueeze(1)
    return (sim > own).sum(1)


def identity_top1(photos: torch.Tensor, images: torch.Tensor) -> float:
    """Share of images whose own photo is the most similar of all photos (chance: 1 / N)."""
    return float((identity_ranks(photos, images) == 0).float().mean())


# --- FID, KID, LPIPS: their math, given the networks -----------------------------------------
class _Features(nn.Module):
    """Feeds precomputed Inception features to torchmetrics' KID (one Inception pass per image
    serves FID and KID, and the anime features serve every checkpoint)."""

    def __init__(self, num_features: int):
        super().__init__()
        self.num_features = num_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


@torch.no_grad()
def inception_features(net: nn.Module, pixels: torch.Tensor, batch_size: int = 50) -> torch.Tensor:
    """(N, 2048) Inception pool features of [0, 1] pixel images (uint8 in, as torch-fidelity)."""
    dev = next(net.parameters()).device
    out = []
    for start in range(0, len(pixels), batch_size):
        x = (pixels[start : start + batch_size] * 255).round().clamp(0, 255).to(torch.uint8)
        out.append(net(x.to(dev)).float().cpu())
    return torch.cat(out)


def frechet_distance(real: torch.Tensor, fake: torch.Tensor) -> float:
    """FID between two feature sets: |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr sqrt(S1 S2), the
    quantity torchmetrics' FrechetInceptionDistance computes (the tests check they agree).

    tr sqrt(S1 S2) is taken exactly from the smaller side: with fewer images than feature
    dimensions it is the sum of the singular values of A B^T (S1 = A^T A, S2 = B^T B), else
    the eigenvalues of S1^1/2 S2 S1^1/2; torchmetrics' general eigvals of a 2048 x 2048
    product costs seconds per checkpoint on a CPU, this costs milliseconds."""
    x, y = real.double(), fake.double()
    mu1, mu2 = x.mean(0), y.mean(0)
    a = (x - mu1) / math.sqrt(len(x) - 1)
    b = (y - mu2) / math.sqrt(len(y) - 1)
    d = x.shape[1]
    if len(x) * len(y) <= d * d:
        cross = torch.linalg.svdvals(a @ b.T).sum()
    else:
        evals, evecs = torch.linalg.eigh(a.T @ a)
        root = (evecs * evals.clamp(min=0).sqrt()) @ evecs.T
        cross = torch.linalg.eigvalsh(root @ (b.T @ b) @ root).clamp(min=0).sqrt().sum()
    return float((mu1 - mu2).square().sum() + a.square().sum() + b.square().sum() - 2 * cross)


def fid_kid(real: torch.Tensor, fake: torch.Tensor, seed: int = 0) -> tuple[float, float]:
    """(FID, KID mean) between two feature sets; KID from torchmetrics, its subset size fitted
    to the number of images (min(1000, n)) and its random subsets seeded."""
    from torchmetrics.image.kid import KernelInceptionDistance

    n = min(len(real), len(fake))
    if n < 2:
        raise ValueError(f"FID and KID need at least 2 images a side, got {n}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "saves all features": we know
        kid = KernelInceptionDistance(feature=_Features(real.shape[1]), subset_size=min(1000, n))
    kid.update(real, real=True)
    kid.update(fake, real=False)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)  # KID draws random subsets: the same ones every time
        kid_mean, _ = kid.compute()
    return frechet_distance(real, fake), float(kid_mean)


@torch.no_grad()
def lpips_score(
    net: nn.Module, photos: torch.Tensor, images: torch.Tensor, batch: int = 32
) -> float:
    """Mean LPIPS between photos and images ([0, 1] pixels)."""
    dev = next(net.parameters()).device
    total = 0.0
    for start in range(0, len(photos), batch):
        a = photos[start : start + batch].to(dev)
        b = images[start : start + batch].to(dev)
        total += float(net(a, b, normalize=True).sum())
    return total / len(photos)
