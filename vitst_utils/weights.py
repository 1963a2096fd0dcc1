"""Where the encoder's and the loss network's weights come from: a local file, the hub, or random.

Asking for pretrained weights and not getting them is an error, never a silent fall-back.
"""

from __future__ import annotations

import os
from pathlib import Path

import timm
import torch
from torch import nn
from torchvision.models import VGG19_Weights
from torchvision.models.vgg import cfgs, make_layers

from .config import TrainConfig

OFFLINE_FIX = (
    "Fix: turn the internet on (Kaggle: Settings > Internet on), or attach the weights as files "
    "and set vit_weights_file=/path/model.safetensors and vgg_weights_file=/path/vgg19.pth "
    "(see README, 'Offline weights'), or set pretrained=False for random weights."
)


class PretrainedWeightsError(RuntimeError):
    """Pretrained weights were asked for and could not be had."""


def offline() -> bool:
    """True when the environment says not to touch the network (HF_HUB_OFFLINE / VITST_OFFLINE)."""
    return any(
        os.environ.get(v, "").lower() in ("1", "true", "yes")
        for v in ("HF_HUB_OFFLINE", "VITST_OFFLINE")
    )


def _existing_file(path: str, field: str) -> str:
    p = Path(path).expanduser()
    if not p.is_file():
        raise FileNotFoundError(f"{field}={path!r}: no such file. Fix the path or unset {field}.")
    return str(p)


def create_vit(cfg: TrainConfig, use_weights: bool = True) -> nn.Module:
    """The timm ViT encoder with its head removed; weights per cfg unless `use_weights` is False.

    Built with `dynamic_img_size`: the position embedding is resampled to the input's grid, so
    any size that is a multiple of the patch works (at the training size nothing changes)."""
    kwargs: dict = {**cfg.vit_kwargs, "img_size": cfg.image_size, "dynamic_img_size": True}
    if use_weights and cfg.vit_weights_file:
        file = _existing_file(cfg.vit_weights_file, "vit_weights_file")
        kwargs.update(pretrained=True, pretrained_cfg_overlay={"file": file})
    elif use_weights and cfg.pretrained:
        if offline():
            raise PretrainedWeightsError(
                f"pretrained=True asks for {cfg.vit_name} weights from the Hugging Face hub, "
                f"but the environment is offline (HF_HUB_OFFLINE/VITST_OFFLINE). {OFFLINE_FIX}"
            )
        kwargs["pretrained"] = True
    try:
        vit = timm.create_model(cfg.vit_name, **kwargs)
    except Exception as e:  # timm/hub raise many types; all mean "no weights"
        if not kwargs.get("pretrained"):
            raise
        source = kwargs.get("pretrained_cfg_overlay", {}).get("file") or "the Hugging Face hub"
        raise PretrainedWeightsError(
            f"Could not load {cfg.vit_name} weights from {source}: {type(e).__name__}: {e}. "
            f"{OFFLINE_FIX}"
        ) from e
    vit.head = nn.Identity()
    return vit


def _vgg_cached(weights: VGG19_Weights) -> bool:
    name = os.path.basename(weights.url)
    return (Path(torch.hub.get_dir()) / "checkpoints" / name).is_file()


def create_vgg19_features(cfg: TrainConfig, use_weights: bool = True) -> nn.Sequential:
    """torchvision's vgg19().features (same layer indices), frozen, in eval mode, every ReLU
    out-of-place. Built without the 120M-parameter classifier, which the losses never use.
    Random weights (no pretrained ones asked for, or `use_weights=False`) come from their own
    generator seeded with `cfg.seed`: the same net every time, whatever the global RNG did."""
    with torch.random.fork_rng(devices=[]):  # the global RNG (the generator's init) untouched
        torch.manual_seed(cfg.seed)
        features = make_layers(cfgs["E"])
        for m in features:  # torchvision's VGG init, so random-weight features keep their scale
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(m.bias)
    if use_weights and cfg.vgg_weights_file:
        file = _existing_file(cfg.vgg_weights_file, "vgg_weights_file")
        state = torch.load(file, map_location="cpu", weights_only=True)
        _load_features(features, state, f"vgg_weights_file={file}")
    elif use_weights and cfg.pretrained:
        weights = VGG19_Weights.DEFAULT
        if offline() and not _vgg_cached(weights):
            raise PretrainedWeightsError(
                "pretrained=True asks for VGG19 weights from download.pytorch.org, but the "
                f"environment is offline and they are not cached in {torch.hub.get_dir()}. "
                f"{OFFLINE_FIX}"
            )
        try:
            state = weights.get_state_dict(progress=False)
        except Exception as e:
            raise PretrainedWeightsError(
                f"Could not download VGG19 weights: {type(e).__name__}: {e}. {OFFLINE_FIX}"
            ) from e
        _load_features(features, state, "torchvision VGG19_Weights.DEFAULT")
    for m in features:
        if isinstance(m, nn.ReLU):
            m.inplace = False
    features.requires_grad_(False)
    return features.eval()


def _load_features(features: nn.Sequential, state: dict, source: str) -> None:
    """Load a full vgg19 state dict (`features.N.*`, classifier ignored) or a bare features one."""
    if any(k.startswith("features.") for k in state):
        state = {
            k.removeprefix("features."): v for k, v in state.items() if k.startswith("features.")
        }
    missing, unexpected = features.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise PretrainedWeightsError(
            f"{source} is not a torchvision vgg19 state dict: missing {missing[:5]}, "
            f"unexpected {unexpected[:5]}"
        )


def fetch_pretrained_weights(cfg: TrainConfig) -> None:
    """Download the pretrained weights `cfg` asks for into the hub caches, here and once, so
    that DDP workers load them from disk: a download error then shows as one clear error in
    the launching process (a notebook), not inside a worker while the others wait."""
    if not cfg.pretrained:
        return
    if not cfg.vit_weights_file:
        create_vit(cfg)
    if not cfg.vgg_weights_file:
        create_vgg19_features(cfg)
