"""Score checkpoints and runs side by side: "looks like anime" and "still this person".

    python -m vitst_utils.evaluate --run runs/seed runs/anime [--checkpoint FILE ...]
        [--images DIR ...] [--data-root DIR] [--split val|test] [--limit N] [--out DIR]
        [--device D] [--weights-dir DIR] [--max-checkpoints N] [--metric-size N]

Every checkpoint (of each run, or given as a file, seed state dicts included) stylises the same
pairs (content[i] with style[i], the first N usable images of the split); `--images DIR` scores
a folder of pictures another tool (or vitst) already made from those photos, named
`<photo stem>*.png` or paired by sorted order. Two baseline rows need no model: `photo` (the
content images as they are) and `anime` (the split's style images, an unrelated pairing).
Writes `<out>/metrics.csv`, `metrics.json` and `metrics.png` (default `<first run>/evaluation`).

Metrics that need no downloaded weights always run (`metrics.py`):
- domain_score: mean P(anime) from a small photo / anime / neither / smooth classifier trained on
  the train splits (a classifier two-sample test, never the training discriminator); blurred
  anime is "smooth"; its held-out accuracy is reported beside it.
- crispness: 1 - the blur measure of Crete-Roffet et al. 2007 (higher = crisper lines).
- structure: local correlation of blurred luminance, photo vs output (1 = layout kept, 0 =
  flat or unrelated).
- identity_top1: share of outputs whose own photo is the most similar of all the photos, in
  orientation histograms of luminance edges (chance: 1 / pairs).
- <term>_loss (content_loss, style_loss, and each other term of the checkpoint's recipe, but
  the adversarial one) and rec_loss, their weighted sum: the training losses, in the VGG19
  training used, named and weighted as history.csv's columns (`losses.weighted_total`).
Metrics that need pretrained weights (torch-fidelity's Inception, torchvision's AlexNet,
OpenCV's SFace face recogniser): fid, kid (outputs vs the split's anime images), lpips (photo
vs output), art_fid = (1 + lpips) x (1 + fid) and identity_cos (SFace cosine, photo vs
output). Their weights come from --weights-dir, the torch hub cache, or a download, never a
download when HF_HUB_OFFLINE or VITST_OFFLINE is set; without them they are "not available".
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import importlib.util
import json
import logging
import math
import sys
import urllib.request
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.ticker import MaxNLocator
from torch import nn
from tqdm.auto import tqdm

from .checkpoint import CheckpointError, load_checkpoint, model_from_checkpoint, split_loss_net
from .config import CONTENT_DOMAIN, STYLE_DOMAIN, TrainConfig, get_preset
from .data import (
    IMAGE_EXTENSIONS,
    ImageSkipped,
    build_transform,
    domain_folder,
    find_data_root,
    format_skip_report,
    load_image,
    resolve_data_root,
    scan_folder,
)
from .domain import DomainClassifier, get_domain_classifier, square_resize
from .explore import data_label, format_table
from .function import normalize, to_pixels
from .losses import TERMS, loss_net, perceptual_losses, weighted_total
from .metrics import crispness, identity_top1, structure_score
from .plots import Figure, plot_checkpoint_grid
from .rundir import (
    EVALUATION,
    checkpoint_epoch,
    list_checkpoints,
    run_of,
    select_checkpoints,
    write_atomic,
)
from .sample_data import is_synthetic
from .weights import PretrainedWeightsError, offline

log = logging.getLogger(__name__)

DEFAULT_LIMIT = 200  # pairs per evaluation: enough to rank runs, fast on one GPU
ID_COLUMNS = ("run", "checkpoint", "epoch", "preset")
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
# The training losses a checkpoint is scored with, as history.csv names them: each term the
# recipe has (unweighted; not the adversarial one: it needs the discriminator) and `rec_loss`,
# their weighted sum (`losses.weighted_total`). Only the columns some row has are written.
LOSS_COLUMNS = (*(f"{t}_loss" for t in TERMS if t != "adv"), "rec_loss")
HIGHER_IS_BETTER.update(dict.fromkeys(LOSS_COLUMNS, False))
FIGURE_METRICS = (*METRICS, "content_loss", "style_loss", "rec_loss")
NA = "n/a"  # a metric that could not be computed (the reason is in `unavailable`)


# --- weights for FID / KID / LPIPS --------------------------------------------------------------
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
            "(HF_HUB_OFFLINE/VITST_OFFLINE): put it in --weights-dir"
        )
    try:
        _download(spec.url, cached, spec.sha256_prefix)
    except Exception as e:
        raise WeightsUnavailable(
            f"{spec.name} ({spec.library}) is not in {where}, and its download failed "
            f"({type(e).__name__}: {e}): put it in --weights-dir"
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


# --- the metrics of one image set ---------------------------------------------------------------
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


class _Scorer:
    """Every metric of one image set against the same photos and anime images; the
    networks are loaded once, and what cannot be had is recorded in `unavailable`."""

    def __init__(
        self,
        photos: torch.Tensor,
        anime: torch.Tensor,
        root: Path,
        device: torch.device,
        weights_dir: str | Path | None,
        classifier_limit: int | None,
        cache_dir: str | Path | None,
    ):
        self.photos, self.anime = photos, anime
        self.unavailable: dict[str, str] = {}
        self.clf: DomainClassifier | None = None
        try:
            self.clf = get_domain_classifier(
                root, train_limit=classifier_limit, cache_dir=cache_dir, device=device
            )
        except (OSError, ValueError, RuntimeError) as e:
            self.unavailable["domain_score"] = f"the photo-vs-anime classifier failed: {e}"
        self.nets = load_metric_nets(weights_dir, device)
        self.unavailable.update(self.nets.unavailable)
        if self.nets.inception is not None and len(anime) < 2:
            self.nets.inception = None
            why = f"needs at least 2 pairs, the split gave {len(anime)}"
            self.unavailable.update(fid=why, kid=why, art_fid=why)
        self.anime_features = (
            inception_features(self.nets.inception, anime) if self.nets.inception else None
        )
        self.device, self._loss_nets = device, {}
        for metric, why in self.unavailable.items():
            log.debug("%s not available: %s", metric, why)  # reported in the result

    def loss_net(self, cfg: TrainConfig, old_vgg: dict | None) -> nn.Module | None:
        """The VGG19 a checkpoint trained with: the one an older checkpoint carries, else its
        config's (pretrained, or random seeded: `losses.loss_net`), loaded once per config;
        None, with the reason in `unavailable`, when its weights cannot be had."""
        key = (cfg.pretrained, cfg.vgg_weights_file, cfg.seed)
        if old_vgg is None and key in self._loss_nets:
            return self._loss_nets[key]
        try:
            net = loss_net(cfg, old_vgg).to(self.device)
        except (PretrainedWeightsError, OSError) as e:
            for column in LOSS_COLUMNS:
                self.unavailable.setdefault(column, f"the VGG19 of the losses: {e}")
            return None
        if old_vgg is None:
            self._loss_nets[key] = net
        return net

    def classifier_info(self) -> dict[str, Any]:
        return {"summary": self.clf.summary(), **self.clf.info()} if self.clf else {}

    def score(
        self,
        images: torch.Tensor,
        features: torch.Tensor | None = None,
        index: Sequence[int] | None = None,
    ) -> dict[str, Any]:
        """The metrics of `images` ([0, 1] pixels, paired with the photos, or with the photos
        at `index` when only some have an image); `features`: their Inception features if
        already computed."""
        photos = self.photos if index is None else self.photos[list(index)]
        row: dict[str, Any] = {
            "domain_score": float(self.clf.prob_pixels(images).mean()) if self.clf else None,
            "crispness": crispness(images),
            "structure": structure_score(photos, images),
            "identity_top1": identity_top1(photos, images),
        }
        if self.nets.face is not None:
            row["identity_cos"] = self.nets.face.similarity(photos, images)
        if self.nets.inception is not None:
            if features is None:
                features = inception_features(self.nets.inception, images)
            row["fid"], row["kid"] = fid_kid(self.anime_features, features)
        if self.nets.lpips is not None:
            row["lpips"] = lpips_score(self.nets.lpips, photos, images)
        if row.get("fid") is not None and row.get("lpips") is not None:
            row["art_fid"] = (1 + row["lpips"]) * (1 + row["fid"])
        return row


# --- what to score, and on which pairs ---------------------------------------------------------
@dataclass
class Source:
    """One checkpoint to score: its run's name and folder, file, epoch (from the name)."""

    run: str
    path: Path
    epoch: int | None = None
    run_dir: Path | None = None


def _unique_names(dirs: Sequence[Path]) -> list[str]:
    names = [d.name for d in dirs]
    return [f"{d.parent.name}/{d.name}" if names.count(d.name) > 1 else d.name for d in dirs]


def collect_sources(
    runs: Sequence[str | Path] = (),
    checkpoints: Sequence[str | Path] = (),
    max_checkpoints: int | None = None,
) -> tuple[list[Source], list[str]]:
    """The checkpoints to score (runs' numbered ones, then the given files) and the problems
    found on the way (a run folder without checkpoints, a missing file), each naming the path."""
    sources: list[Source] = []
    problems: list[str] = []
    run_dirs = [Path(r).expanduser() for r in runs]
    for run_dir, name in zip(run_dirs, _unique_names(run_dirs), strict=True):
        if not run_dir.is_dir():
            problems.append(f"{run_dir}: run folder not found")
            continue
        found = list_checkpoints(run_dir)
        if not found:
            problems.append(
                f"{run_dir}: no checkpoints (expected {run_dir / 'checkpoints'}/epoch_XXX.pt)"
            )
            continue
        if max_checkpoints is not None:
            found = select_checkpoints(found, max_checkpoints)
        sources += [Source(name, p, e, run_dir) for e, p in found]
    for item in checkpoints:
        path = Path(item).expanduser()
        if not path.is_file():
            problems.append(f"{path}: checkpoint file not found")
            continue
        run_dir = run_of(path)
        run = run_dir.name if run_dir is not None else path.stem
        sources.append(Source(run, path, checkpoint_epoch(path), run_dir))
    return sources, problems


def _peek_config(path: Path) -> TrainConfig | None:
    """The config inside a checkpoint without reading its tensors (mmap); None if unreadable.
    A bare state dict is the seed's."""
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        if isinstance(obj, dict) and isinstance(obj.get("config"), dict):
            return TrainConfig.from_dict(obj["config"])
        return get_preset("seed")
    except Exception:
        return None


def _run_config(source: Source) -> TrainConfig | None:
    if source.run_dir is not None and (source.run_dir / "config.json").is_file():
        try:
            return TrainConfig.from_json(source.run_dir / "config.json")
        except (OSError, ValueError):
            pass
    return _peek_config(source.path)


def _find_root(data_root: str | Path | None, sources: Sequence[Source]) -> Path:
    """The data root: given, else the first run's own (its config, $VITST_DATA_ROOT, Kaggle
    input, or the synthetic set a smoke run trained on), else discovery."""
    if data_root is not None:
        return find_data_root(data_root)
    for s in sources:
        cfg = _run_config(s)
        if cfg is not None and s.run_dir is not None:
            return resolve_data_root(cfg, s.run_dir)[0]
    return find_data_root(None)


class _Images:
    """The pairs' images, decoded once, as [0, 1] pixel batches at any size asked for."""

    def __init__(self, paths: Sequence[Path]):
        self.paths = list(paths)
        self.images = [load_image(p) for p in paths]
        self._by_size: dict[int, torch.Tensor] = {}

    def at(self, size: int) -> torch.Tensor:
        if size not in self._by_size:
            tf = build_transform(size, train=False)
            batch = torch.stack([tf(im) for im in self.images])
            self._by_size[size] = to_pixels(batch).clamp(0, 1)
        return self._by_size[size]


def _load_pairs(root: Path, split: str, limit: int | None) -> tuple[_Images, _Images, list[str]]:
    """The first `limit` usable photos and anime faces of the split (as many of each), and
    the loader's report of the junk it skipped."""
    found, notes = [], []
    for domain in (CONTENT_DOMAIN, STYLE_DOMAIN):
        folder = domain_folder(root, domain, split)
        if not folder.is_dir():
            raise FileNotFoundError(
                f"No '{split}' split at {folder}: pick another --split (val, test) or data root."
            )
        good, skipped = scan_folder(folder, limit)
        if skipped:
            notes.append(format_skip_report(skipped, folder, max_items=5))
        found.append(good)
    n = min(len(found[0]), len(found[1]))
    return _Images(found[0][:n]), _Images(found[1][:n]), notes


# --- folders of pictures made elsewhere ---------------------------------------------------------
def _named_after(file: Path, photo: Path) -> bool:
    """`<photo stem>.png` or `<photo stem><not a letter or digit>....png`."""
    rest = file.stem[len(photo.stem) :] if file.stem.startswith(photo.stem) else None
    return rest is not None and (rest == "" or not rest[0].isalnum())


def pair_image_folder(
    folder: str | Path, photos: Sequence[Path]
) -> tuple[list[tuple[int, Path]], list[str]]:
    """(photo index, picture) pairs of a folder of stylised pictures, and the problems found:
    pictures named after their photo (`<photo stem>*`, the shortest name when several), else,
    when no name matches at all, paired by sorted order. Photos without a picture are named."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        return [], [f"{folder}: image folder not found"]
    files = sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMAGE_EXTENSIONS
    )
    if not files:
        return [], [f"{folder}: no image files"]
    named = {
        i: min(hits, key=lambda f: (len(f.name), f.name))
        for i, photo in enumerate(photos)
        if (hits := [f for f in files if _named_after(f, photo)])
    }
    if named:
        missing = [photos[i].name for i in range(len(photos)) if i not in named]
        problems = [f"{folder}: no picture named after {m}" for m in missing[:10]]
        if len(missing) > 10:
            problems.append(f"{folder}: ... and {len(missing) - 10} more photos without one")
        return sorted(named.items()), problems
    n = min(len(files), len(photos))
    problems = []
    if len(files) != len(photos):
        problems.append(
            f"{folder}: no file is named after a photo, and {len(files)} files for "
            f"{len(photos)} photos: paired the first {n} by sorted order"
        )
    return list(enumerate(files[:n])), problems


def _read_folder_images(
    pairs: Sequence[tuple[int, Path]], size: int, problems: list[str]
) -> tuple[list[int], torch.Tensor | None]:
    """The readable pictures of `pairs` as [0, 1] pixels at `size` (short side, centre crop,
    as the photos) and their photo indices; unreadable files go to `problems`."""
    tf = build_transform(size, train=False)
    index, images = [], []
    for i, path in pairs:
        try:
            images.append(to_pixels(tf(load_image(path))).clamp(0, 1))
            index.append(i)
        except (ImageSkipped, OSError) as e:
            problems.append(f"{path}: unreadable ({getattr(e, 'reason', e)}), not scored")
    return index, torch.stack(images) if images else None


def _score_folders(
    folders: Sequence[str | Path],
    photos: _Images,
    scorer: _Scorer,
    metric_size: int,
    problems: list[str],
) -> list[dict[str, Any]]:
    """One row per folder of already-stylised pictures (see `pair_image_folder`)."""
    dirs = [Path(f).expanduser() for f in folders]
    rows = []
    for folder, name in zip(dirs, _unique_names(dirs), strict=True):
        pairs, found = pair_image_folder(folder, photos.paths)
        problems += found
        index, images = _read_folder_images(pairs, metric_size, problems)
        if images is None:
            continue
        row = {**_baseline(name), "checkpoint": "images", "path": str(folder)}
        rows.append({**row, **scorer.score(images, index=index), "pairs": len(index)})
    return rows


# --- the evaluation ----------------------------------------------------------------------------
def _baseline(name: str) -> dict[str, Any]:
    return dict(run=name, checkpoint="baseline", epoch=None, preset="", path=None, run_dir=None)


@torch.no_grad()
def _stylise(
    source: Source,
    photos: _Images,
    anime: _Images,
    metric_size: int,
    scorer: _Scorer,
    batch_size: int,
) -> tuple[torch.Tensor, dict[str, Any]]:
    """Outputs as [0, 1] pixels at `metric_size`, and the checkpoint's row fields + losses
    (the mean of each term over the pairs, and of their weighted sum `rec_loss`)."""
    device = scorer.device
    ckpt = load_checkpoint(source.path, map_location="cpu")
    model, cfg = model_from_checkpoint(ckpt, source.path, map_location=device)
    epoch = ckpt.get("epoch") if ckpt.get("epoch") is not None else source.epoch
    vgg = scorer.loss_net(cfg, split_loss_net(ckpt["model"])[1])
    del ckpt
    c_all = normalize(photos.at(cfg.image_size))
    s_all = normalize(anime.at(cfg.image_size))
    identity = vgg is not None and (
        cfg.lambda_identity_pixel > 0 or cfg.lambda_identity_feature > 0
    )
    outs, sums = [], {}
    for start in range(0, len(c_all), batch_size):
        c = c_all[start : start + batch_size].to(device)
        s = s_all[start : start + batch_size].to(device)
        out = model(c, s, identity=identity)
        g = out[0] if identity else out
        if vgg is not None:
            terms = perceptual_losses(vgg, cfg, g, c, s, out[1:] if identity else None)
            for k, v in {**terms, "rec": weighted_total(cfg, terms).rec}.items():
                sums[f"{k}_loss"] = sums.get(f"{k}_loss", 0.0) + float(v) * len(c)
        outs.append(square_resize(to_pixels(g.float()).clamp(0, 1), metric_size).cpu())
    row = {
        "run": source.run,
        "checkpoint": source.path.name,
        "epoch": epoch,
        "preset": cfg.preset,
        "path": str(source.path),
        "run_dir": str(source.run_dir.resolve()) if source.run_dir is not None else None,
        **{k: v / len(c_all) for k, v in sums.items()},
    }
    return torch.cat(outs), row


def _column_label(row: dict[str, Any]) -> str:
    """ "run · epoch N" (or the file name for checkpoints without an epoch)."""
    if row.get("epoch") is not None:
        return f"{row['run']} · epoch {row['epoch']}"
    return f"{row['run']} · {row['checkpoint']}"


def _score_all(
    sources: Sequence[Source],
    scorer: _Scorer,
    pairs: tuple[_Images, _Images],
    metric_size: int,
    device: torch.device,
    batch_size: int,
    keep_samples: int,
    problems: list[str],
) -> tuple[list[dict[str, Any]], dict[str, torch.Tensor]]:
    """The table (the two baselines, then one row per checkpoint, every metric present) and
    the first `keep_samples` outputs of each checkpoint; a checkpoint that fails is added to
    `problems` and the rest are still scored."""
    table = [
        {**_baseline("photo"), **scorer.score(scorer.photos)},
        {**_baseline("anime"), **scorer.score(scorer.anime, scorer.anime_features)},
    ]
    samples = {}
    for source in tqdm(sources, desc="checkpoints", unit="ckpt", disable=len(sources) < 3):
        try:
            images, row = _stylise(source, *pairs, metric_size, scorer, batch_size)
        except (CheckpointError, OSError, ValueError, RuntimeError) as e:
            msg = str(e) if str(source.path) in str(e) else f"{source.path}: {e}"
            problems.append(msg)
            log.info("skipped: %s", msg)
            continue
        table.append({**row, **scorer.score(images)})
        if keep_samples:
            samples[_column_label(row)] = normalize(images[:keep_samples])
    return table, samples


def evaluate_runs(
    runs: Sequence[str | Path] = (),
    checkpoints: Sequence[str | Path] = (),
    *,
    images: Sequence[str | Path] = (),
    data_root: str | Path | None = None,
    split: str = "val",
    limit: int | None = DEFAULT_LIMIT,
    out: str | Path | None = None,
    device: str | torch.device | None = None,
    weights_dir: str | Path | None = None,
    max_checkpoints: int | None = None,
    metric_size: int | None = None,
    batch_size: int = 16,
    classifier_limit: int | None = 2000,
    cache_dir: str | Path | None = None,
    keep_samples: int = 4,
) -> EvaluationResult:
    """Score every checkpoint of `runs` (and the `checkpoints` files), and each folder of
    already-stylised pictures in `images` (`pair_image_folder`), on the same pairs of `split`,
    beside the `photo` and `anime` baselines; write metrics.csv/.json/.png to `out` (default
    `<first run>/evaluation`).

    Outputs are compared at `metric_size` (default: the smallest image size among the
    checkpoints, else 224; others are resized, antialiased, and centre-cropped). A checkpoint
    or picture that fails is a `problem` and the rest are still scored; a metric that cannot
    run is `unavailable`. Raises FileNotFoundError when there are no pairs (no data root,
    missing split)."""
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be >= 1 or None (all pairs), got {limit}")
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    sources, problems = collect_sources(runs, checkpoints, max_checkpoints)
    root = _find_root(data_root, sources)
    photos, anime, notes = _load_pairs(root, split, limit)
    if metric_size is None:
        sizes = [c.image_size for c in map(_run_config, sources) if c is not None]
        metric_size = min(sizes) if sizes else 224
    scorer = _Scorer(
        photos.at(metric_size),
        anime.at(metric_size),
        root,
        device,
        weights_dir,
        classifier_limit,
        cache_dir,
    )
    table, samples = _score_all(
        sources, scorer, (photos, anime), metric_size, device, batch_size, keep_samples, problems
    )
    table += _score_folders(images, photos, scorer, metric_size, problems)
    shown = [c for c in LOSS_COLUMNS if c in scorer.unavailable or any(c in r for r in table)]
    columns = (*ID_COLUMNS, *METRICS, *shown)
    for row in table:
        for m in columns[len(ID_COLUMNS) :]:
            row.setdefault(m, None)
    result = EvaluationResult(
        table=table,
        unavailable=scorer.unavailable,
        problems=problems,
        classifier=scorer.classifier_info(),
        data_root=root,
        split=split,
        pairs=len(scorer.photos),
        metric_size=metric_size,
        label=data_label(root),
        notes=notes,
        sample_content=normalize(scorer.photos[:keep_samples]) if keep_samples else None,
        sample_style=normalize(scorer.anime[:keep_samples]) if keep_samples else None,
        samples=samples,
        columns=columns,
    )
    out_dir = Path(out) if out is not None else _default_out(sources, runs)
    result.files = write_outputs(result, out_dir, scorer.nets.files)
    return result


def _default_out(sources: Sequence[Source], runs: Sequence[str | Path]) -> Path:
    """`<first run>/evaluation`; for checkpoint files alone, their run folder's or ./evaluation."""
    if runs:
        return Path(runs[0]).expanduser() / EVALUATION
    for s in sources:
        if s.run_dir is not None:
            return s.run_dir / EVALUATION
    return Path(EVALUATION)


# --- the result --------------------------------------------------------------------------------
def _spelled_out(
    row: dict[str, Any], unavailable: dict[str, str], columns: Sequence[str]
) -> dict[str, Any]:
    """The row's `columns`, a missing value as "n/a" (the metric could not run, the reason is
    in `unavailable`) or "" (it does not apply: a baseline has no epoch and no VGG losses)."""
    return {c: (NA if c in unavailable else "") if row.get(c) is None else row[c] for c in columns}


@dataclass
class EvaluationResult:
    """The table (one row per baseline and checkpoint) and everything needed to read it."""

    table: list[dict[str, Any]]
    unavailable: dict[str, str]
    problems: list[str]
    classifier: dict[str, Any]
    data_root: Path
    split: str
    pairs: int
    metric_size: int
    label: str
    notes: list[str] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)
    # the first pairs, normalised at metric_size: what went in, and each checkpoint's outputs
    sample_content: torch.Tensor | None = None
    sample_style: torch.Tensor | None = None
    samples: dict[str, torch.Tensor] = field(default_factory=dict)
    columns: tuple[str, ...] = (*ID_COLUMNS, *METRICS)  # and the loss columns of the rows

    def display_rows(self) -> list[dict[str, Any]]:
        """Rows for a text table: missing metrics as "n/a" (not available) or "" (no model)."""
        return [_spelled_out(r, self.unavailable, self.columns) for r in self.table]

    def text(self, floatfmt: str = ".4g") -> str:
        """The table, then the classifier's accuracy, what was not available and why."""
        lines = [
            f"{self.pairs} pairs of '{self.split}' in {self.data_root} ({self.label}); metrics "
            f"at {self.metric_size} px",
            format_table(self.display_rows(), self.columns, floatfmt=floatfmt),
        ]
        if self.classifier.get("summary"):
            lines.append(f"domain_score: {self.classifier['summary']}")
        lines.append(
            f"identity_top1: chance level 1/{self.pairs} = {1 / max(1, self.pairs):.3g} "
            "(rows scored on fewer pairs: 1/their pairs)"
        )
        by_reason: dict[str, list[str]] = {}
        for metric, why in self.unavailable.items():
            by_reason.setdefault(why, []).append(metric)
        lines += [f"{', '.join(ms)}: not available: {why}" for why, ms in by_reason.items()]
        lines += [f"problem: {p}" for p in self.problems]
        lines += [f"note: {note.splitlines()[0]}" for note in self.notes]
        return "\n".join(lines)

    def figure(self) -> Figure:
        return plot_metrics(self.table, self.unavailable, self.classifier, self.label)

    def rows_of(self, run: str | Path) -> list[dict[str, Any]]:
        """The checkpoint rows of one run, by its name in the table or its folder (e.g. for
        `plots.plot_val_losses`)."""
        folder = str(Path(run).expanduser().resolve()) if isinstance(run, Path) else None
        return [
            r
            for r in self.table
            if r["checkpoint"] != "baseline" and (r["run"] == run or r.get("run_dir") == folder)
        ]

    def pairs_figure(self, title: str = "") -> Figure:
        """The first pairs (content, style), then one column per checkpoint scored."""
        if self.sample_content is None or self.sample_style is None:
            raise ValueError("no sample pairs kept (keep_samples=0)")
        label = f"{self.split} pairs by checkpoint | {self.label}"
        return plot_checkpoint_grid(
            self.sample_content,
            self.sample_style,
            list(self.samples.items()),
            f"{title} | {label}" if title else label,
        )


def write_outputs(
    result: EvaluationResult, out: str | Path, weight_files: dict[str, str] | None = None
) -> dict[str, Path]:
    """metrics.csv (one row per baseline/checkpoint: "n/a" = not available, "" = not
    applicable), metrics.json (rows + reasons, classifier, data, problems) and metrics.png."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "csv": out / "metrics.csv",
        "json": out / "metrics.json",
        "figure": out / "metrics.png",
    }
    with open(files["csv"], "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(result.columns)
        for row in result.display_rows():
            writer.writerow([f"{v:.6g}" if isinstance(v, float) else v for v in row.values()])
    meta = {
        "data_root": str(result.data_root),
        "synthetic": is_synthetic(result.data_root),
        "split": result.split,
        "pairs": result.pairs,
        "metric_size": result.metric_size,
        "columns": list(result.columns),
        "higher_is_better": {
            c: HIGHER_IS_BETTER[c] for c in result.columns if c in HIGHER_IS_BETTER
        },
        "rows": result.table,
        "unavailable": result.unavailable,
        "classifier": result.classifier,
        "weight_files": weight_files or {},
        "problems": result.problems,
        "notes": result.notes,
    }
    files["json"].write_text(json.dumps(meta, indent=2) + "\n")
    result.figure().savefig(files["figure"], dpi=100, bbox_inches="tight")
    return files


# --- the figure ----------------------------------------------------------------------------------
_BASELINE_STYLE = {"photo": ("tab:gray", "--"), "anime": ("black", "--")}


def _plot_metric(
    ax: Any, table: Sequence[dict[str, Any]], metric: str, classifier: dict[str, Any] | None
) -> None:
    """One panel: a line per run over epochs, a dotted line per checkpoint without an epoch,
    a dashed line per baseline."""
    arrow = "higher is better" if HIGHER_IS_BETTER.get(metric) else "lower is better"
    title = f"{metric} ({arrow})"
    if metric == "domain_score" and classifier and "heldout_accuracy" in classifier:
        title += f"\nclassifier held-out accuracy {classifier['heldout_accuracy']:.2f}"
    ax.set_title(title, fontsize=9)
    runs = dict.fromkeys(r["run"] for r in table if r["checkpoint"] != "baseline")
    for k, run in enumerate(runs):
        colour = f"C{k % 10}"
        mine = [r for r in table if r["run"] == run and r.get(metric) is not None]
        pts = sorted((r["epoch"], r[metric]) for r in mine if r["epoch"] is not None)
        if pts:
            ax.plot(*zip(*pts, strict=True), marker="o", ms=4, color=colour, label=run)
        for r in mine:
            if r["epoch"] is None:
                ax.axhline(r[metric], color=colour, ls=":", label=f"{run} ({r['checkpoint']})")
    for r in table:
        if r["checkpoint"] == "baseline" and r.get(metric) is not None:
            colour, ls = _BASELINE_STYLE.get(r["run"], ("gray", "--"))
            ax.axhline(r[metric], color=colour, ls=ls, lw=1, label=r["run"])
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7)


def plot_metrics(
    table: Sequence[dict[str, Any]],
    unavailable: dict[str, str] | None = None,
    classifier: dict[str, Any] | None = None,
    label: str = "",
    metrics: Sequence[str] = FIGURE_METRICS,
) -> Figure:
    """One panel per available metric: x = epoch, one line per run, the photo and anime
    baselines as dashed lines, checkpoints without an epoch (seed state dicts) as dotted
    lines; the metrics that were not available are named below (reasons in the table)."""
    unavailable = unavailable or {}
    shown = [m for m in metrics if m not in unavailable]
    cols = min(3, max(1, len(shown)))
    rows = max(1, -(-len(shown) // cols))
    fig = Figure(layout="constrained", figsize=(4.4 * cols, 3.1 * rows + 0.6))
    axes = list(fig.subplots(rows, cols, squeeze=False).flat)
    for ax, metric in zip(axes, shown, strict=False):
        _plot_metric(ax, table, metric, classifier)
    for ax in axes[len(shown) :]:
        ax.set_axis_off()
    title = f"metrics by checkpoint | {label}" if label else "metrics by checkpoint"
    missing = [m for m in metrics if m in unavailable]
    if missing:
        title += f"\nnot available: {', '.join(missing)} (reasons: the table, metrics.json)"
    fig.suptitle(title, fontsize=10)
    return fig


# --- CLI -----------------------------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m vitst_utils.evaluate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--run", nargs="+", default=[], action="extend", help="run folders")
    p.add_argument(
        "--checkpoint",
        nargs="+",
        default=[],
        action="extend",
        help="checkpoint files (vitst checkpoints or seed state dicts)",
    )
    p.add_argument(
        "--images",
        nargs="+",
        default=[],
        action="extend",
        metavar="DIR",
        help="folders of pictures already stylised from the split's photos (by vitst or another "
        "tool), named <photo stem>*.png or paired by sorted order",
    )
    p.add_argument("--data-root", help="the AvatarAnime folder (default: the first run's)")
    p.add_argument("--split", default="val", help="val (default), test, or train")
    p.add_argument(
        "--limit", type=int, default=DEFAULT_LIMIT, help=f"pairs (default {DEFAULT_LIMIT})"
    )
    p.add_argument("--out", help="output folder (default <first run>/evaluation)")
    p.add_argument("--device", default=None, help="cuda if available, else cpu")
    p.add_argument("--weights-dir", help="folder with the FID/KID/LPIPS weight files (README)")
    p.add_argument("--max-checkpoints", type=int, help="per run, spread evenly (default all)")
    p.add_argument(
        "--metric-size",
        type=int,
        help="side at which all metrics compare (default: the checkpoints' smallest, else 224)",
    )
    return p


def _check_args(args: argparse.Namespace) -> None:
    """Usage errors as ValueError (the CLI prints them and exits 2)."""
    if not args.run and not args.checkpoint and not args.images:
        raise ValueError("give --run RUN_DIR ..., --checkpoint FILE ... and/or --images DIR ...")
    if args.metric_size is not None and args.metric_size < 16:
        raise ValueError("--metric-size must be >= 16 pixels")
    if args.limit < 1 or (args.max_checkpoints is not None and args.max_checkpoints < 1):
        raise ValueError("--limit and --max-checkpoints must be >= 1")
    if args.weights_dir and not Path(args.weights_dir).is_dir():
        raise ValueError(f"--weights-dir {args.weights_dir}: no such folder")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        _check_args(args)
        result = evaluate_runs(
            args.run,
            args.checkpoint,
            images=args.images,
            data_root=args.data_root,
            split=args.split,
            limit=args.limit,
            out=args.out,
            device=args.device,
            weights_dir=args.weights_dir,
            max_checkpoints=args.max_checkpoints,
            metric_size=args.metric_size,
        )
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(result.text())
    for note in result.notes:
        print(note, file=sys.stderr)
    for path in result.files.values():
        print(f"wrote {path}")
    if len(result.table) == 2:
        print("error: nothing could be scored (see the problems above)", file=sys.stderr)
    return 1 if result.problems else 0


if __name__ == "__main__":
    sys.exit(main())
