"""The networks: ViT encoder -> AdaIN -> CNN decoder, and the PatchGAN discriminator of the
anime domain.

Part names are the seed notebook's (`vit_encoder`, `decoder`), so a state dict saved by the seed
loads here (its `vgg_loss_net.*`, the seed's VGG19 inside the generator, is split off by
`checkpoint.py`): like pytorch-AdaIN's decoder files, the generator holds what stylising needs,
and the frozen VGG19 of the losses belongs to the training step (`losses.loss_net`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from .cel import CelStyle, cel_render, cel_style
from .config import (
    CEL_CLEAN,
    CEL_COLORS,
    CEL_INK,
    CEL_LINE,
    CEL_MATCH,
    CEL_SIMPLIFY,
    CEL_TAU,
    CEL_TONE,
    MODEL_FIELDS,
    TrainConfig,
)
from .function import (
    adaptive_instance_normalization,
    attention_normalization,
    calc_mean_std,
    mean_variance_norm,
    normalize,
    to_pixels,
)
from .weights import create_vit

__all__ = [
    "Decoder",
    "PatchDiscriminator",
    "UpsampleDecoder",
    "ViTStyleTransfer",
    "adaptive_instance_normalization",
    "build_discriminator",
    "build_model",
]


class Decoder(nn.Sequential):
    """The seed's decoder: per x2 stage ConvTranspose2d (4x4, stride 2), InstanceNorm2d, ReLU;
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


def _conv3x3(cin: int, cout: int) -> list[nn.Module]:
    return [nn.ReflectionPad2d(1), nn.Conv2d(cin, cout, 3), nn.ReLU()]


class UpsampleDecoder(nn.Sequential):
    """Per x2 stage: reflection-padded 3x3 conv + ReLU, nearest x2, 3x3 conv + ReLU; then a 3x3
    conv to RGB and Tanh. No transposed convolutions (no checkerboard, Odena et al. 2016) and no
    normalisation, which would wash out the statistics AdaIN just set (the decoders of
    pytorch-AdaIN and StyTr2). `change=True` (a cel model): the last conv paints a change to
    the photo's logits, so it starts at zero and has no Tanh (an untrained model changes
    nothing, as ControlNet's zero convolutions)."""

    def __init__(self, in_channels: int, channels: tuple[int, ...], change: bool = False):
        layers: list[nn.Module] = []
        prev = in_channels
        for ch in channels:
            layers += [*_conv3x3(prev, ch), nn.Upsample(scale_factor=2, mode="nearest")]
            layers += _conv3x3(ch, ch)
            prev = ch
        last = nn.Conv2d(prev, 3, 3)
        if change:
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)
        layers += [nn.ReflectionPad2d(1), last, nn.Identity() if change else nn.Tanh()]
        super().__init__(*layers)


def render_output(
    raw: torch.Tensor,
    output_space: str,
    photo: torch.Tensor | None = None,
    cel: CelStyle | None = None,
    tau: float = CEL_TAU,
    ink: tuple[float, ...] | None = None,
    simplify: int = 0,
    clean: int = 0,
    tone: float = 0.0,
) -> torch.Tensor:
    """The ImageNet-normalised picture from a decoder's output: the seed's reads it as the
    normalised image itself, "pixels" reads its Tanh as [0, 1] pixels, and "cel" renders the
    change it painted onto the normalised `photo` (the same size) with the style's `cel`
    palette and ink, `tone` of the way to its tones, cleaned by `clean` passes and simplified
    by up to `simplify` (`cel.cel_render`; `ink` None: fills only)."""
    if output_space == "cel":
        if photo is None or cel is None:
            raise ValueError(
                "a cel model (output_space='cel') paints over the photo with a style's palette: "
                "give the photo and the style's CelStyle"
            )
        pixels = to_pixels(photo).clamp(0, 1)
        return normalize(cel_render(raw, pixels, cel, tau, ink, simplify, clean, tone))
    if output_space == "pixels":
        return normalize((raw + 1) / 2)
    return raw


class AttentionFusion(nn.Module):
    """AdaAttN's attention (`function.attention_normalization`): 1x1 query and key projections
    of the mean-variance-normalised content and style features. The query starts at zero, so
    a new model starts as AdaIN (uniform attention) and learns where to look."""

    def __init__(self, dim: int, key_dim: int = 64):
        super().__init__()
        self.query, self.key = nn.Conv2d(dim, key_dim, 1), nn.Conv2d(dim, key_dim, 1)
        nn.init.zeros_(self.query.weight)
        nn.init.zeros_(self.query.bias)

    def forward(
        self,
        content: torch.Tensor,
        style: torch.Tensor,
        bias: torch.Tensor | None = None,
        normalised: torch.Tensor | None = None,
        style_normalised: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """`content` (B, C, H, W) with the style of `style` (B | 1, C, Hs, Ws); `bias`: added
        to the attention logits (B | 1, Hs Ws); `normalised`, `style_normalised`: their
        normalised forms when not their own per-channel standardisation (video smooths the
        content's over time; several style images side by side are each standardised)."""
        n = mean_variance_norm(content) if normalised is None else normalised
        n_s = mean_variance_norm(style) if style_normalised is None else style_normalised
        q, k = self.query(n.to(content.dtype)), self.key(n_s.to(style.dtype))
        return attention_normalization(n, style, q, k, bias)


class ViTStyleTransfer(nn.Module):
    """Encode content and style with a ViT, match statistics with AdaIN (or, with
    `fusion="attention"`, AdaAttN's attention-weighted statistics), decode to an image.

    Every image in and out is ImageNet-normalised: `forward` returns what the losses, plots and
    `data.to_pil` take. With `output_space="pixels"` the decoder's Tanh is read as [0, 1]
    pixels ((t + 1) / 2, so black and white are reachable) and normalised; the seed reads it
    as a normalised image directly, which caps red at 0.26-0.71 (and so on). With "cel" the
    decoder paints a change to the photo, rendered with the style's palette and ink
    (`cel.py`): `decode` then needs the photo and the style's `CelStyle`.
    """

    def __init__(
        self,
        vit: nn.Module,
        image_size: int,
        vit_name: str = "",
        vit_kwargs: dict[str, Any] | None = None,
        vit_layers: tuple[int, ...] = (),
        decoder: str = "convtranspose",
        decoder_channels: tuple[int, ...] = (512, 256, 128, 64),
        output_space: str = "normalized",
        freeze_encoder: bool = False,
        fusion: str = "adain",
        cel_colors: int = CEL_COLORS,
        cel_ink: tuple[float, ...] = CEL_INK,
        cel_tau: float = CEL_TAU,
        cel_line: float = CEL_LINE,
        cel_simplify: int = CEL_SIMPLIFY,
        cel_clean: int = CEL_CLEAN,
        cel_match: str = CEL_MATCH,
        cel_tone: float = CEL_TONE,
    ):
        """`vit`: a timm ViT (`weights.create_vit`); `image_size`: the training size (style
        images and prototypes are read at it); `vit_name`, `vit_kwargs`: what `vit` is (for
        prototypes and messages); the rest as the `TrainConfig` fields of the same names."""
        super().__init__()
        self.image_size, self.vit_name = image_size, vit_name
        self.vit_kwargs, self.vit_layers = dict(vit_kwargs or {}), tuple(vit_layers)
        self.output_space, self.freeze_encoder = output_space, freeze_encoder
        self.cel_colors, self.cel_ink, self.cel_tau = cel_colors, tuple(cel_ink), cel_tau
        self.cel_line, self.cel_simplify, self.cel_clean = cel_line, cel_simplify, cel_clean
        if cel_match not in ("adain", "histogram"):
            raise ValueError(f"cel_match={cel_match!r}: use adain|histogram")
        self.cel_match, self.cel_tone = cel_match, cel_tone
        if self.vit_layers:  # drop the blocks after the last one used
            vit.prune_intermediate_layers(list(self.vit_layers), prune_norm=False)
        vit.requires_grad_(not freeze_encoder)
        self.vit_encoder = vit
        dim = vit.embed_dim
        stages = math.log2(self.patch_size)
        if stages != len(decoder_channels):
            raise ValueError(
                f"decoder_channels={list(decoder_channels)} has {len(decoder_channels)} "
                f"x2 stages, but {vit_name} (patch {self.patch_size}) needs {stages:g}: "
                f"give one width per stage, e.g. {[max(16, 256 >> i) for i in range(int(stages))]}"
            )
        n = max(1, len(self.vit_layers))
        # Features of several blocks: AdaIN (or attention) on all their channels, then a 1x1
        # conv fuses them.
        self.fuse = nn.Conv2d(n * dim, dim, 1) if n > 1 else nn.Identity()
        self.attention = AttentionFusion(n * dim) if fusion == "attention" else None
        if output_space == "cel" and decoder != "upsample":
            raise ValueError('output_space="cel" needs the upsample decoder: decoder="upsample"')
        if decoder == "upsample":
            self.decoder = UpsampleDecoder(dim, decoder_channels, change=output_space == "cel")
        else:
            self.decoder = Decoder(dim, decoder_channels)

    @property
    def patch_size(self) -> int:
        return self.vit_encoder.patch_embed.patch_size[0]

    @property
    def last_layer(self) -> torch.Tensor:
        """The weight of the decoder's last convolution (before Tanh): where the loss balance
        and the adaptive adversarial weight compare gradients (VQGAN's `last_layer`)."""
        return self.decoder[-2].weight

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H/p, W/p) features: the patch tokens after the final norm (the seed), or the
        normed outputs of the `vit_layers` blocks stacked on channels. H, W: multiples of p."""
        if self.freeze_encoder:  # no graph through a frozen encoder
            with torch.no_grad():
                return self._encode(x)
        return self._encode(x)

    def _encode(self, x: torch.Tensor) -> torch.Tensor:
        vit = self.vit_encoder
        if self.vit_layers:
            maps = vit.forward_intermediates(
                x,
                indices=list(self.vit_layers),
                norm=True,
                output_fmt="NCHW",
                intermediates_only=True,
            )
            return torch.cat(maps, dim=1)
        tokens = vit.forward_features(x)[:, vit.num_prefix_tokens :]
        b, n, d = tokens.shape
        h, w = x.shape[-2] // self.patch_size, x.shape[-1] // self.patch_size
        if h * w != n:
            raise ValueError(f"input {tuple(x.shape)} gives {n} tokens, not a {h}x{w} grid")
        return tokens.transpose(1, 2).reshape(b, d, h, w)

    @property
    def is_cel(self) -> bool:
        """Whether this model paints through the cel stage (`output_space="cel"`)."""
        return self.output_space == "cel"

    def decode_raw(self, feat: torch.Tensor) -> torch.Tensor:
        """The decoder's own output for (AdaIN-ed) features, before `render`: the network part
        of decoding (inference paths speed up this; tiles of it are stitched, then rendered)."""
        return self.decoder(self.fuse(feat))

    def render(
        self,
        raw: torch.Tensor,
        photo: torch.Tensor | None = None,
        cel: CelStyle | None = None,
        ink: bool = True,
    ) -> torch.Tensor:
        """An ImageNet-normalised image from `decode_raw`'s output (`render_output` with this
        model's output space and cel settings; `ink=False`: a cel model's fills only). The
        tone matching and the cleaning passes only when stylising (eval mode): the losses never
        see them (trained through the cleaning, the decoder learnt less, README "An eighth
        round"; the tone matching passed the eleventh round's rule so, with no retraining)."""
        ink_range = self.cel_ink if ink else None
        clean, tone = (0, 0.0) if self.training else (self.cel_clean, self.cel_tone)
        return render_output(
            raw,
            self.output_space,
            photo,
            cel,
            self.cel_tau,
            ink_range,
            self.cel_simplify,
            clean,
            tone,
        )

    def decode(
        self,
        feat: torch.Tensor,
        photo: torch.Tensor | None = None,
        cel: CelStyle | None = None,
        ink: bool = True,
    ) -> torch.Tensor:
        """An ImageNet-normalised image from (AdaIN-ed) features: `render(decode_raw(feat))`
        (a cel model needs the photo and the style's `CelStyle`, see `render`)."""
        return self.render(self.decode_raw(feat), photo, cel, ink)

    def cel_style(
        self, images: torch.Tensor, weights: torch.Tensor | None = None, inked: bool = True
    ) -> CelStyle:
        """The `CelStyle` of normalised style images (one per image, or one blend with
        `weights`) with this model's palette size, line share, ink, colour and tone matching
        (`inked=False`: for pictures rendered without ink, whose ink colour, ink length and
        tones are not read from the images)."""
        pixels = to_pixels(images.float()).clamp(0, 1)
        line, ink = (self.cel_line, self.cel_ink) if inked else (0.0, None)
        return cel_style(
            pixels,
            self.cel_colors,
            weights,
            line=line,
            tau=self.cel_tau,
            ink=ink,
            quantiles=self.cel_match == "histogram",
            tones=inked and self.cel_tone > 0,
        )

    def encode_pair(
        self, content: torch.Tensor, style: torch.Tensor, batched: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Both encodings; one pass over both when `batched` and the shapes allow it (the same
        values as two: `TrainConfig.batched_passes`)."""
        if batched and content.shape[1:] == style.shape[1:]:
            feats = self.encode(torch.cat([content, style]))
            return feats[: len(content)], feats[len(content) :]
        return self.encode(content), self.encode(style)

    def forward(
        self,
        content: torch.Tensor,
        style: torch.Tensor,
        identity: bool = False,
        batched: bool = True,
    ) -> torch.Tensor | tuple[torch.Tensor, ...]:
        """The stylised content. With `identity`, also decode(AdaIN(c, c)) and
        decode(AdaIN(s, s)) (StyTr2's identity images; AdaIN(x, x) = x; an attention model
        decodes attention(c, c) and attention(s, s)). `batched`: encode
        (and decode) the images in one pass each, as `encode_pair`."""
        c, s = self.encode_pair(content, style, batched)
        t = self.stylise_features(c, s)
        cel_s = self.cel_style(style) if self.is_cel else None
        if not identity:
            return self.decode(t, content, cel_s)
        if self.attention is not None:  # attention(x, x) is not x: StyTr2's identity images
            c, s = self.stylise_features(c, c), self.stylise_features(s, s)
        if batched:
            raw = self.decode_raw(torch.cat([t, c, s])).split([len(t), len(c), len(s)])
        else:
            raw = self.decode_raw(t), self.decode_raw(c), self.decode_raw(s)
        if not self.is_cel:
            return tuple(self.render(r) for r in raw)
        # identity images: each image in its own colours and palette, fills only (no ink)
        cel_c = self.cel_style(content, inked=False)
        return (
            self.render(raw[0], content, cel_s),
            self.render(raw[1], content, cel_c, ink=False),
            self.render(raw[2], style, cel_s, ink=False),
        )

    def stylise_features(self, c: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        """Content features `c` with the style of `s`: AdaIN, or the attention fusion."""
        if self.attention is not None:
            return self.attention(c, s)
        return adaptive_instance_normalization(c, s)

    @torch.no_grad()
    def style_prototype(self, batches: Iterable[torch.Tensor]) -> dict[str, Any]:
        """The anime domain's mean AdaIN statistics: per-channel mean and std of `encode(x)`
        averaged over every image of `batches` (normalised images, on the model's device). A
        cel model's also holds `cel`: the colours and palette of the *medoid* image, the one
        whose statistics are nearest the mean (one drawing's coherent palette: the k-means of
        every image's pixels at once mixes all their hair and background colours)."""
        means, stds, cels = [], [], []
        for x in batches:
            mean, std = calc_mean_std(self.encode(x).float())
            means.append(mean.flatten(1).cpu())
            stds.append(std.flatten(1).cpu())
            if self.is_cel:
                cels.append(self.cel_style(x).to("cpu"))
        if not means:
            raise ValueError("style_prototype() needs at least one image")
        mean, std = torch.cat(means), torch.cat(stds)
        proto: dict[str, Any] = {"mean": mean.mean(0), "std": std.mean(0), "count": len(mean)}
        if self.is_cel:
            gap = (mean - proto["mean"]).square().sum(1) + (std - proto["std"]).square().sum(1)
            i = int(gap.argmin())
            every = CelStyle.cat(cels)
            proto["cel"] = every.item(i)
        return proto


# The TrainConfig fields the generator is built from: `MODEL_FIELDS` without the loss net's
# `vgg_layers`, plus whether the encoder trains and the stylising-only `cel_clean`, `cel_tone`.
MODEL_ARGS = tuple(f for f in MODEL_FIELDS if f != "vgg_layers") + (
    "freeze_encoder",
    "cel_clean",
    "cel_tone",
)


def build_model(cfg: TrainConfig, use_weights: bool = True) -> ViTStyleTransfer:
    """The generator of `cfg`, the one place a config becomes model arguments;
    `use_weights=False` skips all weight loading (a checkpoint brings its own)."""
    args = {k: getattr(cfg, k) for k in MODEL_ARGS}
    return ViTStyleTransfer(create_vit(cfg, use_weights), **args)


# --- the adversary ----------------------------------------------------------------------------
class PatchDiscriminator(nn.Sequential):
    """AnimeGANv2's discriminator (`net/discriminator.py`, D_net): 3x3 convs with spectral norm
    and LeakyReLU 0.2; `layers - 1` stride-2 stages with LayerNorm; a 1-channel patch map of
    logits (one per ~8x8 receptive patch at layers=3). LayerNorm over (C, H, W) is GroupNorm
    with one group."""

    def __init__(self, channels: int = 64, layers: int = 3):
        def conv(cin: int, cout: int, stride: int = 1) -> nn.Module:
            return spectral_norm(nn.Conv2d(cin, cout, 3, stride, 1, bias=False))

        ch = prev = channels // 2
        mods: list[nn.Module] = [conv(3, ch), nn.LeakyReLU(0.2)]
        for _ in range(1, layers):
            mods += [conv(prev, ch * 2, 2), nn.LeakyReLU(0.2)]
            mods += [conv(ch * 2, ch * 4), nn.GroupNorm(1, ch * 4), nn.LeakyReLU(0.2)]
            ch, prev = ch * 2, ch * 4
        mods += [conv(prev, ch * 2), nn.GroupNorm(1, ch * 2), nn.LeakyReLU(0.2)]
        mods += [conv(ch * 2, 1)]
        super().__init__(*mods)


def build_discriminator(cfg: TrainConfig) -> PatchDiscriminator | None:
    """The anime-domain discriminator, or None when the config has no adversarial loss."""
    return PatchDiscriminator(cfg.d_channels, cfg.d_layers) if cfg.lambda_adv > 0 else None
