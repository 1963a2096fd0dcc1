"""The math of style transfer, free of any network: feature statistics and AdaIN."""

from __future__ import annotations

import torch


def calc_mean_std(feat: torch.Tensor, eps: float = 1e-5) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample, per-channel mean and std over the spatial dims, shaped (B, C, 1, 1)."""
    if feat.dim() != 4:
        raise ValueError(f"expected a (B, C, H, W) feature map, got shape {tuple(feat.shape)}")
    b, c = feat.shape[:2]
    flat = feat.reshape(b, c, -1)
    std = (flat.var(dim=2) + eps).sqrt().view(b, c, 1, 1)
    mean = flat.mean(dim=2).view(b, c, 1, 1)
    return mean, std


def adaptive_instance_normalization(content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
    """AdaIN (Huang & Belongie 2017): give the content features the style's channel mean/std."""
    if content.shape[:2] != style.shape[:2]:
        raise ValueError(
            f"content {tuple(content.shape)} and style {tuple(style.shape)} "
            "must agree on batch and channels"
        )
    c_mean, c_std = calc_mean_std(content)
    s_mean, s_std = calc_mean_std(style)
    return (content - c_mean) / c_std * s_std + s_mean


def gram_matrix(feat: torch.Tensor) -> torch.Tensor:
    """Channel correlation (B, C, C), normalised by the number of elements per channel map."""
    b, c = feat.shape[:2]
    flat = feat.reshape(b, c, -1)
    return flat @ flat.transpose(1, 2) / flat.shape[2]
