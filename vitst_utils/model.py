"""The network: ViT encoder -> AdaIN -> CNN decoder, with the frozen VGG19 loss net beside it.

Part names are the seed notebook's (`vit_encoder`, `decoder`, `vgg_loss_net`), so a state dict
saved by the seed loads here unchanged.
"""

from __future__ import annotations

import torch
from torch import nn

from . import losses
from .config import TrainConfig
from .function import adaptive_instance_normalization
from .weights import create_vgg19_features, create_vit

__all__ = ["Decoder", "ViTStyleTransfer", "adaptive_instance_normalization", "build_model"]


class Decoder(nn.Sequential):
    """The seed's decoder: 4 x (ConvTranspose2d stride 2, InstanceNorm2d, ReLU), x16 in size,
    then Conv2d 3x3 to RGB and Tanh."""

    def __init__(self, in_channels: int = 768, channels: tuple[int, ...] = (512, 256, 128, 64)):
        layers: list[nn.Module] = []
        prev = in_channels
        for ch in channels:
            layers += [
                nn.ConvTranspose2d(prev, ch, kernel_size=4, stride=2, padding=1),
                nn.InstanceNorm2d(ch),
                nn.ReLU(inplace=False),
            ]
            prev = ch
        layers += [nn.Conv2d(prev, 3, kernel_size=3, stride=1, padding=1), nn.Tanh()]
        super().__init__(*layers)


class ViTStyleTransfer(nn.Module):
    """Encode content and style with a ViT, match statistics with AdaIN, decode to an image."""

    def __init__(self, cfg: TrainConfig, use_weights: bool = True):
        super().__init__()
        self.cfg = cfg
        self.vit_encoder = create_vit(cfg, use_weights)
        self.vit_encoder.requires_grad_(not cfg.freeze_encoder)
        self.decoder = Decoder(self.vit_encoder.embed_dim, cfg.decoder_channels)
        self.vgg_loss_net = create_vgg19_features(cfg, use_weights)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Patch tokens after the final norm as a (B, D, H/16, W/16) map."""
        tokens = self.vit_encoder.forward_features(x)[:, self.vit_encoder.num_prefix_tokens :]
        b, n, d = tokens.shape
        h, w = x.shape[-2] // self.patch_size, x.shape[-1] // self.patch_size
        if h * w != n:
            raise ValueError(f"input {tuple(x.shape)} gives {n} tokens, not a {h}x{w} grid")
        return tokens.transpose(1, 2).reshape(b, d, h, w)

    @property
    def patch_size(self) -> int:
        return self.vit_encoder.patch_embed.patch_size[0]

    def forward(self, content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        feat = adaptive_instance_normalization(self.encode(content), self.encode(style))
        return self.decoder(feat)

    def calculate_loss(
        self, generated: torch.Tensor, content: torch.Tensor, style: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(content_loss, style_loss) from the frozen VGG19, as configured."""
        cfg = self.cfg
        return losses.calculate_loss(
            self.vgg_loss_net,
            generated,
            content,
            style,
            cfg.vgg_layers,
            cfg.content_layer,
            cfg.style_loss,
        )

    def train(self, mode: bool = True) -> ViTStyleTransfer:
        super().train(mode)
        self.vgg_loss_net.eval()  # the loss network never trains
        return self


def build_model(cfg: TrainConfig, use_weights: bool = True) -> ViTStyleTransfer:
    """The model for `cfg`; `use_weights=False` skips all weight loading (for checkpoints)."""
    return ViTStyleTransfer(cfg, use_weights)
