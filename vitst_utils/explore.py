"""Dataset exploration: counts and skipped files per folder, image sizes, colour statistics.

The numbers behind `notebooks/01_data_exploration`: what is in each domain and split, which
files the loader will skip and why, how big and how wide the images are, how their colours
differ between photos and anime, and what the training transform makes of them. Statistics
use a deterministic sample (a few hundred images per split), so the real dataset stays fast.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from itertools import zip_longest
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from PIL import Image
from tqdm.auto import tqdm

from .data import (
    CONTENT_DOMAIN,
    DOMAINS,
    IMAGE_EXTENSIONS,
    IMAGENET_MEAN,
    IMAGENET_STD,
    SPLITS,
    STYLE_DOMAIN,
    ImageSkipped,
    build_transform,
    domain_folder,
    load_image,
    scan_folder,
)
from .sample_data import is_synthetic

if TYPE_CHECKING:
    from .quality_report import Issue, QualityReport

ROLES = {CONTENT_DOMAIN: "content", STYLE_DOMAIN: "style"}
HIST_BINS = 32
STATS_THUMBNAIL = 256  # colour statistics on at most 256 px a side: fast, means unchanged
PROGRESS_MIN = 50  # show a progress bar from this many images on


def data_label(root: str | Path) -> str:
    """A caption for figures: "SYNTHETIC sample data" for the built-in set, else the root's name.

    Every picture of synthetic images must say so; this is the one place that decides.
    """
    return "SYNTHETIC sample data" if is_synthetic(root) else f"data: {Path(root).name}"


# --- counts and skipped files --------------------------------------------------------------------
def _count_entries(folder: Path) -> tuple[int, int]:
    """(all entries, image-named regular files) of a folder, without decoding or a stat each."""
    entries = images = 0
    with os.scandir(folder) as it:
        for e in it:
            entries += 1
            name = e.name
            if (
                not name.startswith(".")
                and e.is_file()
                and Path(name).suffix.lower() in IMAGE_EXTENSIONS
            ):
                images += 1
    return entries, images


def dataset_overview(
    root: str | Path,
    domains: Sequence[str] = DOMAINS,
    splits: Sequence[str] = SPLITS,
    limit_per_split: int | None = None,
) -> list[dict[str, Any]]:
    """One row per (domain, split) folder: what is there and what the loader keeps or skips.

    Row keys: domain, role (content/style), split, folder, exists, entries (everything in the
    folder), image_files (image-named files, counted without decoding), checked (entries the
    loader looked at), good (usable image paths), skipped ((path, reason) pairs), complete
    (whether every entry was checked) and error (why a folder gave nothing, else None).

    With `limit_per_split`, each folder is checked (fully decoded) only until that many usable
    images are found, in name order, as the training loader does with its image limits.
    """
    root = Path(root)
    rows: list[dict[str, Any]] = []
    for domain in domains:
        for split in splits:
            folder = domain_folder(root, domain, split)
            row: dict[str, Any] = {
                "domain": domain,
                "role": ROLES.get(domain, "?"),
                "split": split,
                "folder": folder,
                "exists": folder.is_dir(),
                "entries": 0,
                "image_files": 0,
                "checked": 0,
                "good": [],
                "skipped": [],
                "complete": True,
                "error": None if folder.is_dir() else "folder missing",
            }
            if row["exists"]:
                row["entries"], row["image_files"] = _count_entries(folder)
            rows.append(row)

    present = [r for r in rows if r["exists"]]
    big = any(r["image_files"] > 10 * PROGRESS_MIN for r in present)
    for row in tqdm(present, desc="checking folders", unit="folder", disable=not big):
        try:
            good, skipped = scan_folder(row["folder"], limit_per_split)
        except FileNotFoundError as e:  # no usable image at all: keep the loader's explanation
            row["error"] = str(e).splitlines()[0]
            row["checked"] = row["entries"]
            continue
        row["good"], row["skipped"] = good, skipped
        row["checked"] = len(good) + len(skipped)
        row["complete"] = row["checked"] >= row["entries"]
    return rows


def usable_paths(rows: Sequence[Mapping[str, Any]], domain: str, split: str) -> list[Path]:
    """The usable images found in one (domain, split) folder of an overview ([] if none)."""
    for r in rows:
        if r["domain"] == domain and r["split"] == split:
            return list(r["good"])
    return []


def reason_kind(reason: str) -> str:
    """The kind of a skip reason, without its details: "corrupt or truncated: ..." ->
    "corrupt or truncated", "too small (1x1, ...)" -> "too small"."""
    return re.split(r"[:(]", reason, maxsplit=1)[0].strip()


def overview_table(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The overview as table rows: counts per folder, for `format_table`."""
    out = []
    for r in rows:
        note = r["error"] or ("" if r["complete"] else f"first {r['checked']} checked")
        out.append(
            {
                "domain": r["domain"],
                "role": r["role"],
                "split": r["split"],
                "entries": r["entries"],
                "image files": r["image_files"],
                "checked": r["checked"],
                "usable": len(r["good"]),
                "skipped": len(r["skipped"]),
                "note": note,
            }
        )
    return out


def skipped_table(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Skipped files grouped by folder and kind of reason, with a count and one example each."""
    out = []
    for r in rows:
        groups: dict[str, list[tuple[Path, str]]] = {}
        for path, reason in r["skipped"]:
            groups.setdefault(reason_kind(reason), []).append((Path(path), reason))
        for kind, items in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
            out.append(
                {
                    "domain": r["domain"],
                    "split": r["split"],
                    "reason": kind,
                    "count": len(items),
                    "example": items[0][0].name,
                }
            )
    return out


# --- tables ------------------------------------------------------------------------------------
_NUMBER = (int, float, np.integer, np.floating)


def _cell(value: Any, floatfmt: str) -> str:
    if isinstance(value, (float, np.floating)):
        return format(float(value), floatfmt)
    return str(value)


def format_table(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str] | None = None,
    floatfmt: str = ".3f",
) -> str:
    """A plain-text table (numbers right-aligned, text left-aligned): no pandas needed."""
    if not rows:
        return "(no rows)"
    columns = list(columns) if columns is not None else list(rows[0])
    cells = [[_cell(r.get(c, ""), floatfmt) for c in columns] for r in rows]
    numeric = [  # right-align a column whose non-empty cells are all numbers
        all(isinstance(r.get(c), _NUMBER) for r in rows if r.get(c, "") != "") for c in columns
    ]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]

    def line(values: Sequence[str]) -> str:
        parts = [
            v.rjust(w) if num else v.ljust(w)
            for v, w, num in zip(values, widths, numeric, strict=True)
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(columns), rule, *(line(row) for row in cells)])


# --- image statistics --------------------------------------------------------------------------
def sample_paths(paths: Sequence[str | Path], k: int | None, seed: int = 0) -> list[Path]:
    """At most `k` of `paths`, drawn without replacement, in their original order.

    Deterministic for a seed, so two runs of a notebook show the same numbers.
    """
    paths = [Path(p) for p in paths]
    if k is None or len(paths) <= k:
        return paths
    if k < 1:
        raise ValueError(f"k must be >= 1 or None (all paths), got {k}")
    idx = np.sort(np.random.default_rng(seed).choice(len(paths), size=k, replace=False))
    return [paths[i] for i in idx]


def _histogram(values: np.ndarray) -> np.ndarray:
    """Counts of values in [0, 1] over HIST_BINS equal bins (bincount: much faster than
    np.histogram, which matters over hundreds of images)."""
    idx = np.minimum((values * HIST_BINS).astype(np.int64), HIST_BINS - 1)
    return np.bincount(idx, minlength=HIST_BINS)


def _pixel_stats(im: Image.Image) -> dict[str, Any]:
    im = im.copy()
    im.thumbnail((STATS_THUMBNAIL, STATS_THUMBNAIL), Image.Resampling.BILINEAR)
    # Channels as contiguous rows: reductions over them are far faster than over axis 1.
    r, g, b = np.ascontiguousarray(np.asarray(im).reshape(-1, 3).T, dtype=np.float32) / 255
    hi, lo = np.maximum(np.maximum(r, g), b), np.minimum(np.minimum(r, g), b)
    luma = 0.299 * r + 0.587 * g + 0.114 * b  # Rec. 601 brightness
    sat = np.divide(hi - lo, hi, out=np.zeros_like(hi), where=hi > 0)  # HSV saturation
    channels = (r, g, b)
    return {
        "mean": np.array([c.mean(dtype=np.float64) for c in channels]),
        "std": np.array([c.std(dtype=np.float64) for c in channels]),
        "pixels": r.size,
        "brightness": float(luma.mean()),
        "saturation": float(sat.mean()),
        "brightness_hist": _histogram(luma),
        "saturation_hist": _histogram(sat),
    }


def image_stats(
    paths: Sequence[str | Path], max_images: int | None = 300, seed: int = 0
) -> dict[str, Any]:
    """Size and colour statistics of (a deterministic sample of at most `max_images` of) images.

    Returns numpy arrays over the N images analysed: width, height (after EXIF rotation),
    aspect (width / height), mean and std (N, 3; RGB in [0, 1]), pixels (pixels the colour
    statistics used: a 256 px thumbnail), brightness and saturation (per-image means); pixel
    histograms brightness_hist and saturation_hist (fractions over `bin_edges`, all images
    pooled); and paths (analysed) and skipped ((path, reason) of unreadable files).
    """
    chosen = sample_paths(paths, max_images, seed)
    sizes, per_image, used = [], [], []
    skipped: list[tuple[Path, str]] = []
    bar = tqdm(chosen, desc="image statistics", unit="img", disable=len(chosen) < PROGRESS_MIN)
    for path in bar:
        try:
            im = load_image(path)
        except ImageSkipped as e:
            skipped.append((path, e.reason))
            continue
        sizes.append(im.size)
        per_image.append(_pixel_stats(im))
        used.append(path)
    n = len(used)
    wh = np.array(sizes, dtype=np.int64).reshape(n, 2)

    def stack(key: str, shape: tuple[int, ...] = ()) -> np.ndarray:
        return np.array([s[key] for s in per_image], dtype=np.float64).reshape(n, *shape)

    b_hist = stack("brightness_hist", (HIST_BINS,)).sum(axis=0)
    s_hist = stack("saturation_hist", (HIST_BINS,)).sum(axis=0)
    total = max(b_hist.sum(), 1.0)
    return {
        "paths": used,
        "skipped": skipped,
        "width": wh[:, 0],
        "height": wh[:, 1],
        "aspect": wh[:, 0] / np.maximum(wh[:, 1], 1),
        "mean": stack("mean", (3,)),
        "std": stack("std", (3,)),
        "pixels": stack("pixels").astype(np.int64),
        "brightness": stack("brightness"),
        "saturation": stack("saturation"),
        "brightness_hist": b_hist / total,
        "saturation_hist": s_hist / total,
        "bin_edges": np.linspace(0.0, 1.0, HIST_BINS + 1),
    }


def channel_summary(stats: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Per-channel mean and std of all pixels pooled (weighted by pixels, not per image):
    the numbers to hold against the ImageNet mean/std the model normalises with."""
    n = np.asarray(stats["pixels"], dtype=np.float64)
    if n.sum() == 0:
        return {"mean": np.full(3, np.nan), "std": np.full(3, np.nan)}
    w = (n / n.sum())[:, None]
    mean = (w * stats["mean"]).sum(axis=0)
    second = (w * (stats["std"] ** 2 + stats["mean"] ** 2)).sum(axis=0)
    return {"mean": mean, "std": np.sqrt(np.maximum(second - mean**2, 0.0))}


def stats_by_domain(
    rows: Sequence[Mapping[str, Any]], max_per_split: int | None = 200, seed: int = 0
) -> dict[str, dict[str, Any]]:
    """`image_stats` per domain over a sample of each split's usable images (overview rows)."""
    out: dict[str, dict[str, Any]] = {}
    for domain in dict.fromkeys(r["domain"] for r in rows):
        paths = [
            p
            for r in rows
            if r["domain"] == domain
            for p in sample_paths(r["good"], max_per_split, seed)
        ]
        out[domain] = image_stats(paths, max_images=None)
    return out


def size_table(
    stats: Mapping[str, Mapping[str, Any]], image_size: int | None = None
) -> list[dict[str, Any]]:
    """Per domain: images analysed, size ranges, median aspect ratio and, given the model's
    `image_size`, the share of images whose shorter side is smaller (Resize scales them up)."""
    out = []
    for domain, s in stats.items():
        w, h = s["width"], s["height"]
        if len(w) == 0:
            out.append({"domain": domain, "images": 0})
            continue
        row: dict[str, Any] = {
            "domain": domain,
            "images": len(w),
            "width": f"{w.min()}-{w.max()}",
            "height": f"{h.min()}-{h.max()}",
            "median size": f"{int(np.median(w))}x{int(np.median(h))}",
            "aspect w/h": float(np.median(s["aspect"])),
            "square": f"{100 * np.mean(w == h):.0f}%",
        }
        if image_size is not None:
            row[f"side < {image_size}"] = f"{100 * np.mean(np.minimum(w, h) < image_size):.0f}%"
        out.append(row)
    return out


def colour_table(stats: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per domain: pooled per-channel mean and std (RGB, 0..1) and mean brightness/saturation,
    with ImageNet's mean/std (what the model normalises with) as the last row."""
    out = []
    for domain, s in stats.items():
        c = channel_summary(s)
        out.append(
            {
                "domain": domain,
                "images": len(s["paths"]),
                **{f"mean {ch}": float(c["mean"][i]) for i, ch in enumerate("RGB")},
                **{f"std {ch}": float(c["std"][i]) for i, ch in enumerate("RGB")},
                "brightness": float(np.mean(s["brightness"])) if len(s["paths"]) else np.nan,
                "saturation": float(np.mean(s["saturation"])) if len(s["paths"]) else np.nan,
            }
        )
    out.append(
        {
            "domain": "ImageNet (normalisation)",
            "images": "",
            **{f"mean {ch}": IMAGENET_MEAN[i] for i, ch in enumerate("RGB")},
            **{f"std {ch}": IMAGENET_STD[i] for i, ch in enumerate("RGB")},
            "brightness": "",
            "saturation": "",
        }
    )
    return out


def short_name(path: str | Path, width: int = 22) -> str:
    """A file name cut to `width` characters in the middle, keeping its end (the extension)."""
    name = Path(path).name
    if len(name) <= width:
        return name
    tail = max(4, width // 3)
    return f"{name[: width - tail - 1]}…{name[-tail:]}"


def load_samples(
    paths: Sequence[str | Path], max_side: int = 256
) -> tuple[list[Image.Image], list[str]]:
    """Images as the loader decodes them (RGB, EXIF-rotated), shrunk to `max_side` for display,
    and captions with the file name and the original size."""
    images, captions = [], []
    for path in paths:
        im = load_image(path)
        captions.append(f"{short_name(path)}\n{im.width}x{im.height}")
        im.thumbnail((max_side, max_side), Image.Resampling.BICUBIC)
        images.append(im)
    return images, captions


# --- what the transforms do --------------------------------------------------------------------
def transform_examples(
    paths: Sequence[str | Path],
    image_size: int,
    draws: int = 3,
    seed: int = 0,
    hflip: bool = True,
) -> list[dict[str, Any]]:
    """For each image: the original (PIL), the evaluation transform's tensor (centre crop) and
    `draws` training-transform tensors (random crop + flip), all normalised as the model sees
    them. The global torch RNG is left untouched; the draws are deterministic for a seed."""
    if draws < 1:
        raise ValueError(f"draws must be >= 1, got {draws}")
    train_tf = build_transform(image_size, train=True, hflip=hflip)
    eval_tf = build_transform(image_size, train=False)
    out = []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for path in paths:
            im = load_image(path)
            out.append(
                {
                    "path": Path(path),
                    "original": im,
                    "eval": eval_tf(im),
                    "train": [train_tf(im) for _ in range(draws)],
                }
            )
    return out


# --- what data quality found (figures for notebook 01) -----------------------------------------
def _thumb(root: Path, rel: str, max_side: int) -> Image.Image:
    try:
        im = load_image(root / rel)
    except (ImageSkipped, OSError):
        return Image.new("RGB", (max_side, max_side), (128, 128, 128))
    im.thumbnail((max_side, max_side), Image.Resampling.BICUBIC)
    return im


def pair_examples(
    report: QualityReport, n: int = 6, max_side: int = 160
) -> tuple[list[Image.Image], list[str]]:
    """Images and captions for `plots.image_grid`: copy, original, copy, original, ...
    (duplicates and leaks of a `quality_report.QualityReport`, the first `n` pairs)."""
    images, captions = [], []
    pairs = zip_longest(report.of_kind("leak"), report.of_kind("duplicate"))
    mixed = [issue for pair in pairs for issue in pair if issue is not None]
    for issue in mixed[:n]:
        other = str(issue.other)
        images += [_thumb(report.root, issue.file, max_side), _thumb(report.root, other, max_side)]
        captions += [
            f"{issue.kind}: {issue.split}/{short_name(issue.file, 18)}",
            f"original: {other.split('/')[-2]}/{short_name(other, 18)}\nd={issue.distance}",
        ]
    return images, captions


def outlier_examples(
    report: QualityReport, n: int = 12, max_side: int = 160
) -> tuple[list[Image.Image], list[str]]:
    """Images and captions of up to `n` outliers of a report, the kinds taking turns."""
    by_kind: dict[str, list[Issue]] = {}
    for i in report.issues:
        if i.kind not in ("duplicate", "leak", "unreadable"):
            by_kind.setdefault(i.kind, []).append(i)
    chosen: list[Issue] = []
    while len(chosen) < n and any(by_kind.values()):
        for items in by_kind.values():
            while items and any(items[0].file == c.file for c in chosen):
                items.pop(0)  # one picture once, under the kind whose turn came first
            if items and len(chosen) < n:
                chosen.append(items.pop(0))
    images = [_thumb(report.root, i.file, max_side) for i in chosen]
    captions = [
        f"{i.kind}: {i.domain}/{i.split}\n{short_name(i.file, 18)}"
        + ("" if i.excluded else " (kept)")
        for i in chosen
    ]
    return images, captions
