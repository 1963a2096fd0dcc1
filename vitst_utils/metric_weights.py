"""The weights of the optional metrics: where the files come from (`--weights-dir`, the torch hub
cache, or a download, never one when HF_HUB_OFFLINE or VITST_OFFLINE is set) and the networks
they load into: torch-fidelity's InceptionV3 (FID, KID), torchvision's AlexNet under LPIPS and
OpenCV's SFace face recogniser (identity_cos). A file that cannot be had makes its metrics
"not available" with the reason, never 0.
"""

from __future__ import annotations

import hashlib
import importlib.util
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .rundir import write_atomic
from .weights import offline


@dataclass(frozen=True)
class WeightFile:
    """A pretrained weight file under its canonical name, and where the library gets it."""

    name: str
    url: str
    library: str
    sha256_prefix: str | None = None  # checked after a download when the library checks it too


INCEPTION = WeightFile(
    "weights-inception-2015-12-05-6726825d.pth",
    "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/"
    "weights-inception-2015-12-05-6726825d.pth",
    "torch-fidelity's InceptionV3 for FID and KID",
)


ALEXNET = WeightFile(
    "alexnet-owt-7be5be79.pth",
    "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth",
    "torchvision's AlexNet, the LPIPS backbone",
    sha256_prefix="7be5be79",
)


SFACE = WeightFile(
    "face_recognition_sface_2021dec.onnx",
    "https://github.com/opencv/opencv_zoo/raw/main/models/face_recognition_sface/"
    "face_recognition_sface_2021dec.onnx",
    "OpenCV's SFace face recogniser (opencv_zoo) for identity_cos",
)


DOWNLOAD_TIMEOUT_S = 60


class WeightsUnavailable(RuntimeError):
    """The weights of an optional metric cannot be had; the message is the reason."""


def hub_cache_dir() -> Path:
    """Where torchvision and torch-fidelity keep downloads: $TORCH_HOME/hub/checkpoints."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def _download(url: str, dest: Path, sha256_prefix: str | None) -> None:
    """Fetch `url` to `dest` through a temp file (timeout, no retries), checking the hash."""
    digest = hashlib.sha256()

    def fetch(f: Any) -> None:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as r:
            while chunk := r.read(1 << 20):
                digest.update(chunk)
                f.write(chunk)
        if sha256_prefix and not digest.hexdigest().startswith(sha256_prefix):
            raise WeightsUnavailable(f"{url}: downloaded file fails its sha256 check")

    write_atomic(dest, fetch)


def find_weights(spec: WeightFile, weights_dir: str | Path | None = None) -> Path:
    """The file for `spec`: `weights_dir/<name>`, else the torch hub cache, else a download
    into that cache (unless offline). Raises WeightsUnavailable with the reason."""
    candidates = [Path(weights_dir).expanduser() / spec.name] if weights_dir is not None else []
    cached = hub_cache_dir() / spec.name
    candidates.append(cached)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    where = " or ".join(map(str, candidates))
    if offline():
        raise WeightsUnavailable(
            f"{spec.name} ({spec.library}) is not in {where}, and nothing is downloaded offline "
            "(HF_HUB_OFFLINE/VITST_OFFLINE): put it in a folder passed as weights_dir"
        )
    try:
        _download(spec.url, cached, spec.sha256_prefix)
    except Exception as e:
        raise WeightsUnavailable(
            f"{spec.name} ({spec.library}) is not in {where}, and its download failed "
            f"({type(e).__name__}: {e}): put it in a folder passed as weights_dir"
        ) from e
    return cached


def _state_dict_file(path: Path) -> dict[str, torch.Tensor]:
    """A plain state dict, read as data only (weights_only=True), or WeightsUnavailable."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise WeightsUnavailable(
            f"{path} cannot be read as plain tensors (weights_only=True): "
            f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
        ) from e
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise WeightsUnavailable(f"{path} is not a state dict (name -> tensor)")
    return state


def _require_torch_fidelity() -> None:
    if importlib.util.find_spec("torch_fidelity") is None:
        raise WeightsUnavailable(
            "torch-fidelity is not installed (pip install --no-deps torch-fidelity, the version "
            "pinned in requirements.txt)"
        )


def load_inception(path: Path, device: str | torch.device = "cpu") -> nn.Module:
    """torch-fidelity's FID InceptionV3 (2048-d pool features) from a weights file.

    The file is read with weights_only=True first: torch-fidelity reads it again with
    weights_only=False, which is then safe."""
    _require_torch_fidelity()
    from torchmetrics.image.fid import NoTrainInceptionV3

    _state_dict_file(path)
    try:
        net = NoTrainInceptionV3(
            name="inception-v3-compat",
            features_list=["2048"],
            feature_extractor_weights_path=str(path),
        )
    except Exception as e:
        raise WeightsUnavailable(
            f"{path} does not fit torch-fidelity's InceptionV3: {type(e).__name__}: {e}"
        ) from e
    return net.to(device).eval()


def load_lpips(path: Path, device: str | torch.device = "cpu") -> nn.Module:
    """torchmetrics' LPIPS (AlexNet variant): its bundled linear layers, the AlexNet backbone
    from a torchvision `alexnet` state dict file (read with weights_only=True)."""
    from torchvision.models import alexnet

    try:
        from torchmetrics.functional.image.lpips import _NoTrainLpips
    except ImportError as e:  # a private class: say which version works
        raise WeightsUnavailable(
            f"this torchmetrics has no LPIPS network class ({e}); vitst is tested with 1.9"
        ) from e
    backbone = alexnet(weights=None)
    try:
        backbone.load_state_dict(_state_dict_file(path))
    except RuntimeError as e:
        raise WeightsUnavailable(f"{path} is not a torchvision AlexNet state dict: {e}") from e
    net = _NoTrainLpips(pretrained=True, net="alex", pnet_rand=True)
    copied = 0
    for stage in (net.net.slice1, net.net.slice2, net.net.slice3, net.net.slice4, net.net.slice5):
        for name, module in stage.named_children():
            module.load_state_dict(backbone.features[int(name)].state_dict())
            copied += sum(1 for _ in module.parameters())
    if copied != sum(1 for _ in backbone.features.parameters()):
        raise WeightsUnavailable("LPIPS backbone layout changed: not every AlexNet layer mapped")
    return net.to(device).eval()


class FaceRecognizer:
    """OpenCV's SFace (`cv2.FaceRecognizerSF`, OpenCV >= 4.5.4): a 128-d embedding of a
    112 x 112 face crop. The portraits here are framed like CelebA's aligned crops (face.py),
    so the central face square is taken without a detector; face recognisers are weaker on
    drawn faces, so read identity_cos between runs, not as an absolute."""

    def __init__(self, path: Path):
        import cv2

        try:
            self.net = cv2.FaceRecognizerSF.create(str(path), "")
        except cv2.error as e:
            msg = f"{path} is not an SFace ONNX model OpenCV can read: {e}"
            raise WeightsUnavailable(msg) from e
        self.cosine = cv2.FaceRecognizerSF_FR_COSINE

    def embed(self, pixels: torch.Tensor) -> list:
        """One embedding per [0, 1] pixel image (B, 3, H, W): its central face square."""
        h, w = pixels.shape[-2:]
        side = round(0.6 * min(h, w))
        top, left = min(h - side, round(0.55 * h - side / 2)), (w - side) // 2
        crop = pixels[..., top : top + side, left : left + side].float()
        crop = F.interpolate(crop, size=(112, 112), mode="bilinear", antialias=True)
        bgr = (crop.flip(1).clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1)
        return [self.net.feature(np.ascontiguousarray(im.numpy())) for im in bgr]

    def similarity(self, photos: torch.Tensor, images: torch.Tensor) -> float:
        """Mean SFace cosine similarity of each photo with its image."""
        pairs = zip(self.embed(photos), self.embed(images), strict=True)
        return float(np.mean([self.net.match(a, b, self.cosine) for a, b in pairs]))


@dataclass
class MetricNets:
    """The networks of the weighted metrics that could be had, and why the others could not."""

    inception: nn.Module | None = None
    lpips: nn.Module | None = None
    face: FaceRecognizer | None = None
    unavailable: dict[str, str] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)


def load_metric_nets(
    weights_dir: str | Path | None = None, device: str | torch.device = "cpu"
) -> MetricNets:
    """Inception (FID, KID), LPIPS and SFace (identity_cos), each independently: one missing
    never stops the others."""
    nets = MetricNets()
    for key, spec, loader, metrics in (
        ("inception", INCEPTION, load_inception, ("fid", "kid")),
        ("lpips", ALEXNET, load_lpips, ("lpips",)),
        ("face", SFACE, lambda path, _: FaceRecognizer(path), ("identity_cos",)),
    ):
        try:
            if key == "inception":
                _require_torch_fidelity()  # before any download
            path = find_weights(spec, weights_dir)
            setattr(nets, key, loader(path, device))
            nets.files[spec.name] = str(path)
        except WeightsUnavailable as e:
            nets.unavailable.update(dict.fromkeys(metrics, str(e)))
    missing = [m for m in ("fid", "lpips") if m in nets.unavailable]
    if missing:
        nets.unavailable["art_fid"] = f"needs fid and lpips ({' and '.join(missing)} not available)"
    return nets
