"""VGG19 perceptual losses: content at one ReLU layer, style on feature statistics."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .function import calc_mean_std, gram_matrix


def vgg_features(
    vgg: nn.Sequential, x: torch.Tensor, layers: tuple[int, ...]
) -> list[torch.Tensor]:
    """Activations of `vgg` at the given layer indices, in order, stopping at the last one."""
    feats, last = [], max(layers)
    for i, module in enumerate(vgg):
        x = module(x)
        if i in layers:
            feats.append(x.float())  # losses in fp32, also under fp16 autocast
        if i == last:
            break
    return feats


def content_loss(gen: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(gen, target)


def style_loss(
    gen_feats: list[torch.Tensor], style_feats: list[torch.Tensor], kind: str = "mean_std"
) -> torch.Tensor:
    """Sum over layers of the MSE between channel statistics (mean/std, or Gram matrices)."""
    total = gen_feats[0].new_zeros(())
    for g, s in zip(gen_feats, style_feats, strict=True):
        if kind == "mean_std":
            g_mean, g_std = calc_mean_std(g)
            s_mean, s_std = calc_mean_std(s)
            total = total + F.mse_loss(g_mean, s_mean) + F.mse_loss(g_std, s_std)
        elif kind == "gram":
            total = total + F.mse_loss(gram_matrix(g), gram_matrix(s))
        else:
            raise ValueError(f"unknown style loss {kind!r}: use mean_std or gram")
    return total


def calculate_loss(
    vgg: nn.Sequential,
    generated: torch.Tensor,
    content: torch.Tensor,
    style: torch.Tensor,
    layers: tuple[int, ...],
    content_layer: int,
    style_kind: str = "mean_std",
) -> tuple[torch.Tensor, torch.Tensor]:
    """(content_loss, style_loss) of `generated` against its content and style images."""
    gen_feats = vgg_features(vgg, generated, layers)
    with torch.no_grad():
        content_target = vgg_features(vgg, content, layers[: content_layer + 1])[-1]
        style_feats = vgg_features(vgg, style, layers)
    c_loss = content_loss(gen_feats[content_layer], content_target)
    s_loss = style_loss(gen_feats, style_feats, style_kind)
    return c_loss, s_loss
