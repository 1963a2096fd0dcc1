"""The photo-vs-anime domain classifier: P(anime) of any image, for `evaluate`'s domain_score
and `dataquality`'s other_domain check.

A small CNN trained here, once per data root, on `<root>/CelebA/train` (photos) vs
`<root>/AnimeFace/train` (anime faces), plus two classes made from them: "neither" (noise and
periodic patterns: what an untrained decoder paints) and "smooth" (Gaussian-blurred, resampled
or edge-smoothed anime faces: anime colours without drawn lines, what an under-trained decoder
paints; smooth is not drawn). It is a classifier two-sample test, never the training
discriminator, and reports its balanced accuracy on held-out images and the P(anime) it gives
blurred held-out anime. The trained net is cached on disk (`default_cache_dir()`), read back
with weights_only=True.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn
from torchvision.transforms.functional import pil_to_tensor
from tqdm.auto import tqdm

from .config import CONTENT_DOMAIN, STYLE_DOMAIN
from .data import DOMAINS, domain_folder, load_image, scan_folder
from .function import edge_smooth, gaussian_blur, to_pixels
from .rundir import write_atomic

log = logging.getLogger(__name__)

CLASSIFIER_VERSION = 3  # 2: a class "neither" (artefacts); 3: a class "smooth" (blurred anime)
BLUR_CHECK_SIGMA = 1.5  # px at the classifier's size: the held-out blurred-anime check
CLASSIFIER_FORMAT = "vitst-domain-classifier"
CLASSES = ("photo", "anime", "neither", "smooth")
CACHE_ENV = "VITST_CACHE_DIR"


class _DomainNet(nn.Sequential):
    """Four stride-2 3x3 convs (BatchNorm, ReLU), one more conv, global average pooling and
    four logits (`CLASSES`): about 100k parameters, blind to image size."""

    def __init__(self, width: int = 16):
        layers: list[nn.Module] = []
        prev = 3
        for ch in (width, 2 * width, 4 * width, 4 * width):
            layers += [nn.Conv2d(prev, ch, 3, 2, 1, bias=False), nn.BatchNorm2d(ch), nn.ReLU()]
            prev = ch
        layers += [nn.Conv2d(prev, prev, 3, 1, 1, bias=False), nn.BatchNorm2d(prev), nn.ReLU()]
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(prev, len(CLASSES))]
        super().__init__(*layers)


def square_resize(pixels: torch.Tensor, size: int) -> torch.Tensor:
    """(B, 3, H, W) -> (B, 3, size, size): centre square crop, then antialiased bilinear resize
    (the tensor twin of the eval transform Resize + CenterCrop)."""
    h, w = pixels.shape[-2:]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    x = pixels[..., top : top + side, left : left + side]
    if side == size:
        return x
    return F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)


@dataclass
class DomainClassifier:
    """P(anime) for images: a small CNN trained on photos (label 0) vs anime faces (label 1).

    `heldout_accuracy` is the balanced accuracy on images it never trained on: read
    `domain_score` only when it is high (say > 0.9)."""

    net: nn.Module
    image_size: int
    heldout_accuracy: float
    n_train: tuple[int, int]  # (photos, anime)
    n_heldout: tuple[int, int]
    heldout_source: str
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    heldout_blurred_anime: float = float("nan")  # mean P(anime) of blurred held-out anime

    @torch.no_grad()
    def prob_pixels(self, pixels: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
        """P(anime), shape (B,), for [0, 1] pixel batches of any size (CPU result)."""
        self.net.eval()
        out = []
        for start in range(0, len(pixels), batch_size):
            x = square_resize(pixels[start : start + batch_size].float(), self.image_size)
            probs = torch.softmax(self.net(x.to(self.device) * 2 - 1).float(), dim=1)
            out.append(probs[:, CLASSES.index("anime")].cpu())
        return torch.cat(out) if out else torch.zeros(0)

    def prob_anime(self, batch: torch.Tensor) -> torch.Tensor:
        """P(anime), shape (B,), for ImageNet-normalised (B, 3, H, W) images of any size."""
        return self.prob_pixels(to_pixels(batch.detach().float().cpu()).clamp(0, 1))

    def info(self) -> dict[str, Any]:
        """How it was trained and how well it does (plain values: for JSON and the cache)."""
        return {
            "heldout_accuracy": self.heldout_accuracy,
            "heldout_source": self.heldout_source,
            "heldout_blurred_anime": self.heldout_blurred_anime,
            "n_train": list(self.n_train),
            "n_heldout": list(self.n_heldout),
            "image_size": self.image_size,
        }

    def digest(self) -> str:
        """16 hex digits of SHA-256 over the weights: a cache's P(anime) of another
        classifier is not used (`copies.HashCache`)."""
        digest = hashlib.sha256()
        for k, v in sorted(self.net.state_dict().items()):
            digest.update(k.encode())
            digest.update(v.detach().float().cpu().numpy().tobytes())
        return digest.hexdigest()[:16]

    def summary(self) -> str:
        return (
            f"photo-vs-anime classifier ({self.image_size} px, trained on {self.n_train[0]} "
            f"photos + {self.n_train[1]} anime): held-out balanced accuracy "
            f"{self.heldout_accuracy:.3f} on {sum(self.n_heldout)} images ({self.heldout_source}); "
            f"blurred held-out anime (sigma {BLUR_CHECK_SIGMA:g} px) score "
            f"{self.heldout_blurred_anime:.2f}"
        )


# --- training ------------------------------------------------------------------------------------
def _load_square(path: Path, side: int, jpeg_quality: int | None = None) -> torch.Tensor:
    """One image as a uint8 (3, side, side) tensor: optionally JPEG re-encoded at its own size
    (so JPEG artefacts say nothing about the domain), shorter side to `side`, centre crop."""
    im = load_image(path)
    if jpeg_quality is not None:
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=jpeg_quality)
        im = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    return square_view(im, side)


def square_view(im: Image.Image, side: int) -> torch.Tensor:
    """What the classifier sees of an image: shorter side to `side` (bicubic), centre crop;
    uint8 (3, side, side)."""
    w, h = im.size
    scale = side / min(w, h)
    im = im.resize((max(side, round(w * scale)), max(side, round(h * scale))), Image.BICUBIC)
    left, top = (im.width - side) // 2, (im.height - side) // 2
    return pil_to_tensor(im.crop((left, top, left + side, top + side)))


def _load_many(
    paths: Sequence[Path], side: int, gen: torch.Generator | None, desc: str
) -> torch.Tensor:
    """uint8 (N, 3, side, side); with `gen`, every image JPEG re-encoded at quality 70-95."""
    out = []
    for p in tqdm(paths, desc=desc, unit="img", disable=len(paths) < 200, leave=False):
        q = int(torch.randint(70, 96, (1,), generator=gen)) if gen is not None else None
        out.append(_load_square(p, side, q))
    return torch.stack(out)


def _augment(batch: torch.Tensor, size: int, gen: torch.Generator) -> torch.Tensor:
    """Random square crops (65-100 % of the area), resized to `size`, random horizontal flips:
    uint8 (B, 3, L, L) -> float pixels (B, 3, size, size)."""
    b, _, side, _ = batch.shape
    out = torch.empty(b, 3, size, size)
    for i in range(b):
        scale = 0.65 + 0.35 * float(torch.rand(1, generator=gen))
        crop = max(size // 2, round(side * math.sqrt(scale)))
        y0 = int(torch.randint(0, side - crop + 1, (1,), generator=gen))
        x0 = int(torch.randint(0, side - crop + 1, (1,), generator=gen))
        x = batch[i : i + 1, :, y0 : y0 + crop, x0 : x0 + crop].float() / 255.0
        x = square_resize(x, size)
        out[i] = x[0].flip(-1) if float(torch.rand(1, generator=gen)) < 0.5 else x[0]
    return out


def _smoothed(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Drawn images made smooth (float pixels, B x 3 x S x S): a Gaussian blur (sigma 0.8-2.5
    px), a down-and-up resample (x2-x4, bilinear) or AnimeGANv2's edge smoothing, each a third
    of the time. Labelled "smooth", they teach the classifier that smooth is not drawn (the
    demo's blurred outputs passed as anime before)."""
    out = torch.empty_like(x)
    size = x.shape[-1]
    for i in range(len(x)):
        kind, u = int(torch.randint(3, (1,), generator=gen)), float(torch.rand(1, generator=gen))
        xi = x[i : i + 1]
        if kind == 0:
            out[i] = gaussian_blur(xi, 0.8 + 1.7 * u)[0]
        elif kind == 1:
            small = max(8, round(size / (2 + 2 * u)))
            down = F.interpolate(xi, size=small, mode="bilinear", antialias=True)
            out[i] = F.interpolate(down, size=size, mode="bilinear", align_corners=False)[0]
        else:
            out[i] = gaussian_blur(edge_smooth(xi), 0.6)[0]
    return out


def _artefacts(batch: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Images that are neither photo nor anime, made from real ones (float pixels, B x 3 x S x
    S): pixel noise, and 2-4 px periodic checkerboards and stripes over the image (what an
    untrained or unstable decoder paints). Without this third class, a two-way classifier
    calls such outputs anime or photo at random (it called seed-recipe noise 0.99 anime)."""
    b, _, size, _ = batch.shape
    out = batch.clone()
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    for i in range(b):
        if float(torch.rand(1, generator=gen)) < 1 / 3:  # noise around the image's colours
            out[i] = (batch[i] + torch.randn(batch[i].shape, generator=gen) * 0.35).clamp(0, 1)
            continue
        period = int(torch.randint(2, 5, (1,), generator=gen))
        kind = int(torch.randint(3, (1,), generator=gen))  # checkerboard, rows, columns
        phase = [(yy // period + xx // period), yy // period, xx // period][kind] % 2
        colours = torch.rand(2, 3, 1, 1, generator=gen)
        pattern = torch.where(phase.bool(), colours[0], colours[1])
        alpha = 0.5 + 0.5 * float(torch.rand(1, generator=gen))
        out[i] = alpha * pattern + (1 - alpha) * batch[i]
    return out


def _fit(
    x_photo: torch.Tensor,
    x_anime: torch.Tensor,
    image_size: int,
    device: torch.device,
    seed: int,
    gen: torch.Generator,
    batch_size: int,
) -> nn.Module:
    """A fresh `_DomainNet` trained for about 25 epochs on balanced batches: augmented photos,
    augmented anime faces, "neither" (artefacts made from both) and "smooth" anime (uint8
    images in, eval-mode net out)."""
    n = len(x_photo) + len(x_anime)
    half = max(1, min(batch_size // 2, len(x_photo), len(x_anime)))
    steps = min(1500, max(120, math.ceil(25 * n / (2 * half))))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = _DomainNet().to(device)
    opt = torch.optim.AdamW(net.parameters(), lr=2e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    target = torch.arange(len(CLASSES)).repeat_interleave(half).to(device)
    net.train()
    for _ in tqdm(
        range(steps), desc="domain classifier", unit="step", disable=n < 400, leave=False
    ):
        ip = torch.randint(len(x_photo), (half,), generator=gen)
        ia = torch.randint(len(x_anime), (half,), generator=gen)
        xp, xa = _augment(x_photo[ip], image_size, gen), _augment(x_anime[ia], image_size, gen)
        neither = _artefacts(torch.cat([xp[: half // 2], xa[half // 2 :]]), gen)
        x = torch.cat([xp, xa, neither, _smoothed(xa, gen)])
        loss = F.cross_entropy(net(x.to(device) * 2 - 1), target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    return net.eval()


def train_domain_classifier(
    photos: Sequence[Path],
    anime: Sequence[Path],
    heldout_photos: Sequence[Path],
    heldout_anime: Sequence[Path],
    *,
    image_size: int = 64,
    device: str | torch.device = "cpu",
    seed: int = 0,
    batch_size: int = 64,
    heldout_source: str = "",
) -> DomainClassifier:
    """Train the photo-vs-anime classifier from scratch and measure it on the held-out images.

    Fair by construction: every image goes through the same resize and crop (no size or aspect
    cue), training images of both domains are JPEG re-encoded (no file-format cue), and the
    held-out images are scored clean, exactly as `prob_anime` sees outputs."""
    if not photos or not anime or not heldout_photos or not heldout_anime:
        raise ValueError("the domain classifier needs train and held-out images of both domains")
    device = torch.device(device)
    gen = torch.Generator().manual_seed(seed)
    side = round(image_size * 1.5)  # room for the random crops
    x_photo = _load_many(photos, side, gen, "classifier: photos")
    x_anime = _load_many(anime, side, gen, "classifier: anime")
    net = _fit(x_photo, x_anime, image_size, device, seed, gen, batch_size)
    clf = DomainClassifier(
        net,
        image_size,
        float("nan"),
        (len(photos), len(anime)),
        (len(heldout_photos), len(heldout_anime)),
        heldout_source,
        device,
    )
    p_photo = clf.prob_pixels(_load_many(heldout_photos, side, None, "held-out photos") / 255.0)
    anime_pixels = _load_many(heldout_anime, side, None, "held-out anime") / 255.0
    p_anime = clf.prob_pixels(anime_pixels)
    acc_photo, acc_anime = (p_photo < 0.5).float().mean(), (p_anime >= 0.5).float().mean()
    clf.heldout_accuracy = (float(acc_photo) + float(acc_anime)) / 2
    blurred = gaussian_blur(square_resize(anime_pixels, image_size), BLUR_CHECK_SIGMA)
    clf.heldout_blurred_anime = float(clf.prob_pixels(blurred).mean())
    return clf


# --- the cached classifier of a data root --------------------------------------------------------
def default_cache_dir() -> Path:
    """$VITST_CACHE_DIR, else $XDG_CACHE_HOME/vitst, else ~/.cache/vitst."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "vitst"


def _listing(folder: Path) -> list[tuple[str, int, int]]:
    """(name, size, mtime ns) of a folder's entries: a cheap fingerprint of its contents."""
    if not folder.is_dir():
        return []
    with os.scandir(folder) as it:
        return sorted((e.name, e.stat().st_size, e.stat().st_mtime_ns) for e in it if e.is_file())


def _cache_key(folders: dict[tuple[str, str], Path], **settings: Any) -> str:
    """The cache key: the settings, a version and the folders' file listings (as JSON)."""
    listing = json.dumps({f"{d}/{s}": _listing(p) for (d, s), p in folders.items()})
    digest = hashlib.sha256(listing.encode()).hexdigest()
    return json.dumps(
        {"version": CLASSIFIER_VERSION, **settings, "listing": digest}, sort_keys=True
    )


def _split_heldout(paths: list[Path], fraction: float = 0.2) -> tuple[list[Path], list[Path]]:
    """(train, held-out): every 5th image (by sorted name) held out; at least one each."""
    k = max(1, round(len(paths) * fraction))
    step = max(2, len(paths) // k)
    held = paths[step - 1 :: step][:k]
    held_set = set(held)
    return [p for p in paths if p not in held_set], held


def _training_images(
    folders: dict[tuple[str, str], Path], train_limit: int | None, heldout_limit: int | None
) -> tuple[dict[str, tuple[list[Path], list[Path]]], str]:
    """({domain: (train, held-out)}, where the held-out images come from): the val split when
    both domains have one, else every 5th train image."""
    from_val = all(folders[(d, "val")].is_dir() for d in DOMAINS)
    images = {}
    for d in DOMAINS:
        train, skipped = scan_folder(folders[(d, "train")], train_limit)
        if skipped:
            log.info("classifier: %d entries skipped in %s", len(skipped), folders[(d, "train")])
        if from_val:
            held, _ = scan_folder(folders[(d, "val")], heldout_limit)
        else:
            train, held = _split_heldout(train)
        if not train:
            raise FileNotFoundError(f"Too few images in {folders[(d, 'train')]} to train on")
        images[d] = (train, held)
    return images, "the val split" if from_val else "every 5th train image"


def get_domain_classifier(
    root: str | Path,
    *,
    image_size: int = 64,
    train_limit: int | None = 2000,
    heldout_limit: int | None = 500,
    cache_dir: str | Path | None = None,
    device: str | torch.device = "cpu",
    seed: int = 0,
) -> DomainClassifier:
    """The photo-vs-anime classifier of a data root, trained once and cached on disk.

    Trained on `<root>/CelebA/train` (label 0) vs `<root>/AnimeFace/train` (label 1), at most
    `train_limit` usable images each (the loader's junk skipping applies); held out: the `val`
    split (at most `heldout_limit` each), or every 5th train image when there is no val split.
    The cache (default `default_cache_dir()/domain_classifier`) is keyed by the resolved root,
    the limits, the image size, a version and the folders' file listings; it is read with
    `weights_only=True`, and a corrupt or mismatched file is retrained and replaced.
    """
    root = Path(root).expanduser().resolve()
    folders = {(d, s): domain_folder(root, d, s) for d in DOMAINS for s in ("train", "val")}
    for d in DOMAINS:
        if not folders[(d, "train")].is_dir():
            raise FileNotFoundError(
                f"The domain classifier trains on {folders[(d, 'train')]}, which does not exist. "
                f"Point the data root at a folder with {CONTENT_DOMAIN}/train and "
                f"{STYLE_DOMAIN}/train."
            )
    key_text = _cache_key(
        folders,
        root=str(root),
        train_limit=train_limit,
        heldout_limit=heldout_limit,
        image_size=image_size,
        seed=seed,
    )
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir() / "domain_classifier"
    path = cache / f"domain_{hashlib.sha256(key_text.encode()).hexdigest()[:16]}.pt"
    device = torch.device(device)
    if path.is_file():
        try:
            return _read_classifier(path, key_text, device)
        except Exception as e:  # any damage: retrain, never trust it
            log.warning("Ignoring the classifier cache %s (%s); training it again.", path, e)
    images, source = _training_images(folders, train_limit, heldout_limit)
    log.info("Training the photo-vs-anime classifier on %s (cached in %s)", root, path)
    (photos, held_photos), (anime, held_anime) = images[CONTENT_DOMAIN], images[STYLE_DOMAIN]
    clf = train_domain_classifier(
        photos,
        anime,
        held_photos,
        held_anime,
        image_size=image_size,
        device=device,
        seed=seed,
        heldout_source=source,
    )
    _write_classifier(path, clf, key_text)
    return clf


def _write_classifier(path: Path, clf: DomainClassifier, key_text: str) -> None:
    payload = {
        "format": CLASSIFIER_FORMAT,
        "version": CLASSIFIER_VERSION,
        "key": key_text,
        **clf.info(),
        "state_dict": {k: v.detach().cpu() for k, v in clf.net.state_dict().items()},
    }
    try:
        write_atomic(path, lambda f: torch.save(payload, f))
    except OSError as e:  # a read-only cache costs a retrain next time, nothing else
        log.warning("Could not cache the domain classifier in %s: %s", path, e)


def _read_classifier(path: Path, key_text: str, device: torch.device) -> DomainClassifier:
    obj = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(obj, dict) or obj.get("format") != CLASSIFIER_FORMAT:
        raise ValueError("not a domain-classifier cache file")
    if obj.get("version") != CLASSIFIER_VERSION or obj.get("key") != key_text:
        raise ValueError("written for other data, limits or version")
    net = _DomainNet()
    net.load_state_dict(obj["state_dict"])
    return DomainClassifier(
        net.to(device).eval(),
        int(obj["image_size"]),
        float(obj["heldout_accuracy"]),
        tuple(obj["n_train"]),
        tuple(obj["n_heldout"]),
        str(obj["heldout_source"]),
        device,
        float(obj["heldout_blurred_anime"]),
    )
