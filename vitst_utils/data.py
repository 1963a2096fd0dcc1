"""Images in, tensors out: robust decoding, folder scanning, datasets and transforms (finding the
data root is `dataroot`'s job).

Layout of a dataset root (the Kaggle dataset `tuantai229/avataranime`)::

    <root>/CelebA/{train,val,test}/*.jpg      content: real people
    <root>/AnimeFace/{train,val,test}/*.jpg   style: anime faces

Split folders are flat (no class sub-folders). Real folders hold junk (hidden files, corrupt or
odd-mode images), so every file is decoded once up front and the bad ones are reported, not
left to crash a DataLoader worker in epoch 7.
"""

from __future__ import annotations

import hashlib
import logging
import os
import warnings
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError
from torch.utils.data import Dataset
from torchvision import transforms
from tqdm.auto import tqdm

from .config import CONTENT_DOMAIN, STYLE_DOMAIN, TrainConfig
from .function import IMAGENET_MEAN, IMAGENET_STD, normalize, to_pixels

logger = logging.getLogger(__name__)

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif"})
T = TypeVar("T")

DOMAINS = (CONTENT_DOMAIN, STYLE_DOMAIN)
SPLITS = ("train", "val", "test")

EXCLUDED = "excluded (exclude_file)"
MAX_ASPECT_RATIO = 20.0  # longer side / shorter side; beyond this a face crop is meaningless
MIN_SIDE = 2
LAYOUT = (
    "<root>/CelebA/{train,val,test}/*.jpg and <root>/AnimeFace/{train,val,test}/*.jpg "
    "(flat folders of images, no class sub-folders)"
)


class ImageSkipped(ValueError):
    """A file that cannot be used as a training image; `reason` is short, for reports."""

    def __init__(self, reason: str, path: str | Path | None = None) -> None:
        super().__init__(f"{path}: {reason}" if path is not None else reason)
        self.reason = reason
        self.path = path


def is_image_name(name: str | Path) -> bool:
    """Whether a file name is one of an image (IMAGE_EXTENSIONS) and not hidden: the one test
    of "is an image file" (without decoding it; `load_image` says whether it is usable)."""
    name = Path(name).name
    return not name.startswith(".") and Path(name).suffix.lower() in IMAGE_EXTENSIONS


# --- decoding ----------------------------------------------------------------------------------
def _gray_to_uint8(im: Image.Image) -> Image.Image:
    """16/32-bit integer or float grey to 8-bit, scaled (PIL's convert clips them to white)."""
    a = np.nan_to_num(np.asarray(im, dtype=np.float64))
    lo, hi = float(a.min()), float(a.max())
    if im.mode.startswith("I;16") or (im.mode == "I" and lo >= 0 and hi <= 65535):
        a = a / 257.0  # full 16-bit range -> full 8-bit range
    elif im.mode == "F" and lo >= 0 and hi <= 1:
        a = a * 255.0
    elif hi > lo:  # unknown range: stretch to fill 0..255
        a = (a - lo) * (255.0 / (hi - lo))
    else:
        a = np.zeros_like(a)
    return Image.fromarray(np.clip(np.rint(a), 0, 255).astype(np.uint8)).convert("RGB")


def _to_rgb(im: Image.Image) -> Image.Image:
    """Any PIL mode to 8-bit RGB; transparency is composited on white."""
    if im.mode.startswith("I") or im.mode == "F":
        return _gray_to_uint8(im)
    try:
        if im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info:
            rgba = im.convert("RGBA")
            canvas = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            canvas.alpha_composite(rgba)
            return canvas.convert("RGB")
        return im.convert("RGB")
    except ValueError as e:
        raise ImageSkipped(f"unsupported colour mode {im.mode} ({e})") from e


def load_image(path: str | Path) -> Image.Image:
    """Decode `path` to an 8-bit RGB image, EXIF orientation applied.

    Raises `ImageSkipped` (a ValueError) for files that are empty, undecodable, truncated,
    over PIL's decompression-bomb limit, smaller than 2 px a side or more than 20:1 in shape.
    """
    path = Path(path)
    if path.stat().st_size == 0:
        raise ImageSkipped("empty file", path)
    try:
        with warnings.catch_warnings():
            # We report oversized images ourselves (below) instead of PIL's warning.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                w, h = im.size
                limit = Image.MAX_IMAGE_PIXELS
                if limit is not None and w * h > limit:
                    raise ImageSkipped(
                        f"too large ({w}x{h} = {w * h} px, over PIL's decompression-bomb "
                        f"limit of {limit} px)",
                        path,
                    )
                if min(w, h) < MIN_SIDE:
                    raise ImageSkipped(f"too small ({w}x{h}, need {MIN_SIDE} px a side)", path)
                if max(w, h) / min(w, h) > MAX_ASPECT_RATIO:
                    raise ImageSkipped(
                        f"extreme aspect ratio ({w}x{h}, over {MAX_ASPECT_RATIO:g}:1)", path
                    )
                im.load()
                try:
                    im = ImageOps.exif_transpose(im)
                except Exception as e:  # a broken EXIF block must not cost a good image
                    logger.warning("%s: ignoring unreadable EXIF orientation (%s)", path, e)
                return _to_rgb(im)
    except ImageSkipped as e:
        if e.path is None:  # raised below the file level: attach the path
            raise ImageSkipped(e.reason, path) from e
        raise
    except FileNotFoundError:
        raise
    except Image.DecompressionBombError as e:
        raise ImageSkipped(f"too large: {e}", path) from e
    except UnidentifiedImageError as e:
        raise ImageSkipped("corrupt or not an image (PIL cannot identify it)", path) from e
    except (OSError, SyntaxError, ValueError, EOFError, IndexError) as e:  # PIL's decode errors
        raise ImageSkipped(f"corrupt or truncated: {e}", path) from e


# --- folders -----------------------------------------------------------------------------------
def domain_folder(root: str | Path, domain: str, split: str) -> Path:
    """`<root>/<domain>/<split>`, e.g. `domain_folder(root, "CelebA", "train")`."""
    return Path(root) / domain / split


def format_skip_report(
    skipped: Sequence[tuple[Path, str]], folder: str | Path, max_items: int = 10
) -> str:
    """One readable report of skipped files: count, the first names with reasons, the rest."""
    if not skipped:
        return ""
    lines = [f"Skipped {len(skipped)} entries in {folder}:"]
    lines += [f"  {Path(p).name}: {reason}" for p, reason in skipped[:max_items]]
    if len(skipped) > max_items:
        lines.append(f"  ... and {len(skipped) - max_items} more")
    return "\n".join(lines)


def scan_folder(
    folder: str | Path, limit: int | None = None, exclude: Collection[str] = ()
) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Usable images of a flat folder, sorted by name, and the (path, reason) of those skipped.

    Every candidate is fully decoded, so a bad file is found now rather than mid-training.
    With `limit`, scanning stops once `limit` usable images are found. File names in `exclude`
    are passed over unread (reason "excluded"), before the limit counts.
    """
    folder = Path(folder)
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be >= 1 or None (all images), got {limit}")
    if not folder.exists():
        raise FileNotFoundError(f"Image folder not found: {folder}. Expected layout: {LAYOUT}.")
    if not folder.is_dir():
        raise NotADirectoryError(f"Expected a folder of images, got a file: {folder}")
    good: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    for path in sorted(folder.iterdir(), key=lambda p: p.name):
        if limit is not None and len(good) >= limit:
            break
        if path.name in exclude:
            skipped.append((path, EXCLUDED))
        elif path.name.startswith("."):
            skipped.append((path, "hidden file"))
        elif path.is_dir():
            skipped.append((path, "sub-folder"))
        elif not path.is_file():
            skipped.append((path, "not a regular file (broken link?)"))
        elif not is_image_name(path):
            skipped.append((path, f"not an image file ({path.suffix or 'no extension'})"))
        else:
            try:
                load_image(path)
                good.append(path)
            except ImageSkipped as e:
                skipped.append((path, e.reason))
    if not good:
        why = format_skip_report(skipped, folder) if skipped else "The folder is empty."
        raise FileNotFoundError(
            f"No usable image in {folder} ({len(skipped)} entries skipped). {why}\n"
            f"Put images ({', '.join(sorted(IMAGE_EXTENSIONS))}) directly in this folder; "
            f"expected layout: {LAYOUT}."
        )
    return good, skipped


class ImageFolderDataset(Dataset):
    """The images of one flat folder (e.g. `CelebA/train`), checked and sorted at start-up.

    `skipped` lists unusable entries with reasons; `excluded` the files left out on purpose
    (an exclude list, see `read_exclude_file`)."""

    def __init__(
        self,
        folder: str | Path,
        transform: Callable[[Image.Image], torch.Tensor] | None = None,
        limit: int | None = None,
        exclude: Collection[str] = (),
    ) -> None:
        self.folder = Path(folder)
        self.transform = transform
        files, skipped = scan_folder(self.folder, limit, exclude)
        self.files = files
        self.excluded = [p for p, reason in skipped if reason == EXCLUDED]
        self.skipped = [(p, reason) for p, reason in skipped if reason != EXCLUDED]

    @classmethod
    def from_files(
        cls, files: Sequence[Path], transform: Callable[[Image.Image], torch.Tensor] | None = None
    ) -> ImageFolderDataset:
        """A dataset of files already checked (e.g. a subset of another dataset's `files`)."""
        ds = cls.__new__(cls)
        ds.files, ds.transform = list(files), transform
        ds.folder = Path(ds.files[0]).parent if ds.files else Path()
        ds.skipped, ds.excluded = [], []
        return ds

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> torch.Tensor | Image.Image:
        path = self.files[index]
        try:
            image = load_image(path)
        except (ImageSkipped, OSError) as e:
            raise RuntimeError(
                f"Could not read {path}, which decoded fine when the dataset was built "
                f"(changed or removed since?): {e}"
            ) from e
        return self.transform(image) if self.transform is not None else image


def gpu_augment(batch: torch.Tensor, hflip: bool = True) -> torch.Tensor:
    """uint8 crops (B, 3, S, S) on any device (`imagecache.SharedImageCache`'s) -> flipped
    (p = 0.5 each) and normalised, as RandomHorizontalFlip + ToTensor + Normalize would on the
    CPU."""
    x = batch.float() / 255.0
    if hflip:
        flip = torch.rand(len(x), device=x.device) < 0.5
        x = torch.where(flip.view(-1, 1, 1, 1), x.flip(-1), x)
    return normalize(x)


def first_images(dataset: Dataset, n: int) -> torch.Tensor:
    """The first `n` items of a dataset of tensors as one batch: fixed pairs that every
    checkpoint, and every training epoch's sample grid, sees alike."""
    n = min(n, len(dataset))
    if n < 1:
        raise ValueError("first_images() needs n >= 1 and a non-empty dataset")
    return torch.stack([dataset[i] for i in range(n)])


# --- tensors -----------------------------------------------------------------------------------
def build_transform(image_size: int, train: bool, hflip: bool = True) -> transforms.Compose:
    """The seed's transforms: random crop (+ flip) for training, centre crop for evaluation."""
    if train:
        steps = [transforms.Resize(image_size), transforms.RandomCrop(image_size)]
        if hflip:
            steps.append(transforms.RandomHorizontalFlip())
    else:
        steps = [transforms.Resize(image_size), transforms.CenterCrop(image_size)]
    steps += [transforms.ToTensor(), transforms.Normalize(IMAGENET_MEAN, IMAGENET_STD)]
    return transforms.Compose(steps)


def denormalize(t: torch.Tensor) -> torch.Tensor:
    """Undo the ImageNet Normalize of a (3,H,W) or (B,3,H,W) tensor; result clamped to [0,1]."""
    if t.dim() not in (3, 4) or t.shape[-3] != 3:
        raise ValueError(f"denormalize expects (3,H,W) or (B,3,H,W), got {tuple(t.shape)}")
    return to_pixels(t).clamp(0.0, 1.0)


def to_pil(t: torch.Tensor) -> Image.Image:
    """One normalized (3,H,W) tensor as an 8-bit RGB PIL image."""
    if t.dim() != 3:
        raise ValueError(f"to_pil expects one (3,H,W) image, got {tuple(t.shape)}; index a batch")
    arr = (denormalize(t.detach().float().cpu()) * 255.0).round().to(torch.uint8)
    return Image.fromarray(arr.permute(1, 2, 0).numpy())


def image_tensor(path: str | Path | Image.Image, image_size: int) -> torch.Tensor:
    """One image -> a normalised (1, 3, S, S) batch (the seed's eval transform: short side to
    S, centre crop). Style images are always read this way, as training saw them."""
    image = path if isinstance(path, Image.Image) else load_image(path)
    return build_transform(image_size, train=False)(image).unsqueeze(0)


def image_batch(paths: Iterable[str | Path | Image.Image], image_size: int) -> torch.Tensor:
    """`image_tensor` of each, as one (N, 3, S, S) batch."""
    return torch.cat([image_tensor(p, image_size) for p in paths])


def chunks(items: Sequence[T], size: int, desc: str) -> Iterator[Sequence[T]]:
    """`items` in slices of `size`, with a progress bar from three slices up."""
    starts = range(0, len(items), size)
    for start in tqdm(starts, desc=desc, unit="batch", disable=len(starts) < 3):
        yield items[start : start + size]


def gather_images(
    sources: str | Path | Sequence[str | Path] | None,
) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Usable image files from files and folders, and the (path, reason) of those skipped.

    `sources`: a list of paths, or one string of paths joined by os.pathsep (as in an
    environment variable); folders contribute their images (flat, as `scan_folder`). A path
    that does not exist is an error (a typo must not pass silently); None or empty gives [].
    """
    if sources is None:
        return [], []
    if isinstance(sources, str):
        items: list[str | Path] = [s for s in sources.split(os.pathsep) if s.strip()]
    elif isinstance(sources, Path):
        items = [sources]
    else:
        items = list(sources)
    good: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    for item in items:
        path = Path(item).expanduser()
        if not path.exists():
            raise FileNotFoundError(f"Your image {path} does not exist (check the path)")
        if path.is_dir():
            g, s = scan_folder(path)
            good += g
            skipped += s
            continue
        try:
            load_image(path)
            good.append(path)
        except ImageSkipped as e:
            skipped.append((path, e.reason))
    return list(dict.fromkeys(good)), skipped


# --- exclude lists (written by quality_report.py) -------------------------------------------------
def read_exclude_file(path: str | Path) -> list[str]:
    """The paths of an exclude list, relative to the data root ("CelebA/val/x.jpg"), one per
    line; `# ...` starts a comment (whole line or after the path), blank lines are ignored."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(
            f"exclude_file={str(path)!r}: no such file. Write one with the data-quality check "
            "(dataquality.py, its exclude.txt) or unset exclude_file."
        )
    out = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        entry = line.split("#", 1)[0].strip()
        if not entry:
            continue
        parts = Path(entry).parts
        if Path(entry).is_absolute() or ".." in parts or len(parts) < 2:
            raise ValueError(
                f"{path}:{n}: {entry!r} is not a path relative to the data root "
                "(e.g. AnimeFace/train/00012.png)"
            )
        out.append(Path(entry).as_posix())
    return out


def file_sha256(path: str | Path) -> str:
    """The first 16 hex digits of a file's SHA-256: enough to tell two exclude lists apart."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def build_datasets(cfg: TrainConfig, root: str | Path) -> dict[str, ImageFolderDataset]:
    """content/style x train/val datasets with the seed's transforms and image limits, minus
    the files of `cfg.exclude_file`."""
    excluded = read_exclude_file(cfg.exclude_file) if cfg.exclude_file else []
    by_folder: dict[str, set[str]] = {}
    for rel in excluded:
        folder, _, name = rel.rpartition("/")
        by_folder.setdefault(folder, set()).add(name)
    out = {}
    for split, limit, train in (
        (cfg.train_split, cfg.train_limit, True),
        (cfg.val_split, cfg.val_limit, False),
    ):
        tf = build_transform(cfg.image_size, train=train, hflip=cfg.hflip)
        for role, domain in (("content", cfg.content_domain), ("style", cfg.style_domain)):
            key = f"{role}_{'train' if train else 'val'}"
            folder = domain_folder(root, domain, split)
            exclude = by_folder.get(f"{domain}/{split}", set())
            out[key] = ImageFolderDataset(folder, tf, limit, exclude)
    return out


# names that moved to dataroot.py, as code and notebooks written before imported them from here
_MOVED_TO_DATAROOT = ("DATA_ROOT_ENV", "KAGGLE_DATASET", "find_data_root", "resolve_data_root")


def __getattr__(name: str) -> object:
    """`from vitst_utils.data import resolve_data_root` (or another of `_MOVED_TO_DATAROOT`), as
    before data-root discovery moved to `dataroot.py`: code and notebooks written then keep
    working."""
    if name in _MOVED_TO_DATAROOT:
        from . import dataroot

        return getattr(dataroot, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
