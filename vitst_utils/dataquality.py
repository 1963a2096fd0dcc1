"""Data quality: near-duplicates, leaks across splits and outliers, and the list that leaves
them out of training.

    python -m vitst_utils.dataquality --data-root DIR [--out DIR] [--limit N] [--threshold N]
        [--thumb-tol X] [--no-classifier] [--exclude-kinds K,K,...] [--workers N]
    python -m vitst_utils.dataquality --calibrate      # the threshold, measured on planted copies

Every image of every (domain, split) folder is decoded once (as the training loader does) and
measured: a 64-bit perceptual hash (`imagehash.phash`), an 8x8 RGB thumbnail, its size and its
pixel spread. Two images are near-duplicates when their hashes differ in at most `threshold`
bits AND their thumbnails differ by at most `thumb_tol` (mean absolute difference, 0-255): the
hash finds candidates fast (multi-index search, no all-pairs comparison), the thumbnail check
drops look-alikes that are different pictures (aligned faces hash alike). A pair in one split
is a `duplicate`, a pair across splits of a domain a `leak` (a copy of a training image in
val/test makes every validation number look better than it is).

Outliers: `uniform` (near-constant pixels), `small` (shorter side under 64 px), `aspect`
(beyond 2:1), `huge` (longer side over 4096 px), `grayscale` (channels equal in a colour
domain), `other_domain` (a photo the photo-vs-anime classifier of `domain.py` firmly calls
anime, or the reverse; only when its held-out accuracy is high enough to trust) and
`unreadable` (files the loader skips anyway).

Writes `<out>/data_quality.csv` (domain, split, file, kind, detail; `file` relative to the
data root) and `<out>/exclude.txt`, which `--set exclude_file=<out>/exclude.txt` hands to
training. Only the kinds in `EXCLUDED_KINDS` go into the list (for a pair only one file: the
val/test one of a leak, the later name of a duplicate); the others are reported. Hashes are
cached in `<out>/hash_cache.npz`, so a second run only decodes new or changed files.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import math
import os
import sys
import time
from collections.abc import Container, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .config import CONTENT_DOMAIN, STYLE_DOMAIN
from .copies import (
    CACHE_NAME,
    DEFAULT_THRESHOLD,
    DEFAULT_THUMB_TOL,
    HashCache,
    Measurement,
    calibrate,
    copy_pairs,
    list_files,
    measure_all,
    thumb_diff,
)
from .data import DOMAINS, LAYOUT, SPLITS, domain_folder
from .dataroot import find_data_root
from .explore import format_table
from .quality_report import KINDS, Issue, QualityReport, write_outputs
from .rundir import default_out_dir

log = logging.getLogger(__name__)

# --- outlier thresholds (see the README section "Data quality" for how they were chosen) -----
UNIFORM_STD = 0.02  # largest per-channel pixel std (0-1) of a near-uniform image (~5/255)

SMALL_SIDE = 64  # shorter side below this: too small for any preset (smoke trains at 64)

HUGE_SIDE = 4096  # longer side above this: slow to decode, worth a look, not wrong

MAX_ASPECT = 2.0  # longer / shorter side beyond this: a square crop loses over half the image

GRAY_SPREAD = 0.02  # mean (max - min channel) per pixel (0-1) below this: a grayscale image

OTHER_DOMAIN_P = 0.95  # a photo with P(anime) > 0.95, or anime with P(anime) < 0.05

MIN_CLASSIFIER_ACCURACY = 0.9  # the classifier's held-out accuracy needed to trust it

CLASSIFIER_TRAIN_LIMIT = 2000  # it learns from the first 2000 train images of each domain

# Left out of training by default: copies and images with nothing to learn from. Reported only:
# big images (fine, just slow), grayscale ones (a grey manga face is still a face), the
# classifier's verdicts (a model's opinion: look first) and unreadable files (the loader skips
# them anyway).

EXCLUDED_KINDS = ("duplicate", "leak", "uniform", "small", "aspect")

OUT_NAME = "data_quality"  # the default --out: rundir.default_out_dir(OUT_NAME)


def _get_classifier(
    wanted: bool, root: Path, cache_dir: Path | None, device: str | None
) -> tuple[Any, list[str]]:
    """(a trusted domain.DomainClassifier or None, notes saying which or why not)."""
    if not wanted:
        return None, ["other_domain not checked (classifier switched off)"]
    try:
        from .domain import get_domain_classifier

        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        clf = get_domain_classifier(
            root, train_limit=CLASSIFIER_TRAIN_LIMIT, cache_dir=cache_dir, device=device
        )
    except (ImportError, FileNotFoundError, ValueError, RuntimeError, OSError) as e:
        return None, [f"other_domain not checked: the domain classifier is not available ({e})"]
    acc = float(clf.heldout_accuracy)
    if not acc >= MIN_CLASSIFIER_ACCURACY:
        return None, [
            f"other_domain not checked: the domain classifier's held-out accuracy {acc:.3f} is "
            f"under {MIN_CLASSIFIER_ACCURACY} (too weak to call an image firmly in the other "
            "domain)"
        ]
    return clf, [
        f"other_domain: {clf.summary()}",
        f"other_domain: the first {CLASSIFIER_TRAIN_LIMIT} readable train images of each domain "
        "taught the classifier; it judges only the others",
    ]


def _folder(rel: str) -> tuple[str, str]:
    """(domain, split) of a path relative to the data root."""
    domain, split, _ = rel.split("/")
    return domain, split


def _issue(
    domain: str, split: str, rel: str, kind: str, text: str, exclude_kinds: Sequence[str], **pair
) -> Issue:
    """An Issue whose detail ends with what becomes of the file: excluded or reported only."""
    excluded = kind in exclude_kinds
    detail = f"{text}; {'excluded' if excluded else 'reported only'}"
    return Issue(domain, split, rel, kind, detail, excluded, **pair)


def _copy_issues(
    rels: list[str],
    ms: list[Measurement],
    threshold: int,
    thumb_tol: float,
    exclude_kinds: Sequence[str],
) -> list[Issue]:
    """Near-copies among one domain's images: one issue per copy and kind (duplicate in a
    split, leak across splits). The later (split, name) of a pair is the copy; it names its
    closest original (hash distance, then thumbnail difference) and how many more it has."""
    hashes = np.array([m.phash for m in ms], dtype=np.uint64)
    thumbs = np.stack([m.thumb for m in ms])
    i, j, d = copy_pairs(hashes, thumbs, threshold, thumb_tol)
    diff = thumb_diff(thumbs[i], thumbs[j])
    split = [_folder(rel)[1] for rel in rels]
    found: dict[tuple[int, str], list[tuple[int, float, int]]] = {}
    for a, b, dist, td in zip(i.tolist(), j.tolist(), d.tolist(), diff.tolist(), strict=True):
        orig, copy = sorted((a, b), key=lambda k: (SPLITS.index(split[k]), rels[k]))
        kind = "duplicate" if split[a] == split[b] else "leak"
        found.setdefault((copy, kind), []).append((dist, td, orig))
    out = []
    for (copy, kind), matches in sorted(found.items()):
        dist, td, orig = min(matches)
        what = "duplicate of" if kind == "duplicate" else f"copy (in {split[copy]}) of"
        more = f", and {len(matches) - 1} more" if len(matches) > 1 else ""
        text = f"{what} {rels[orig]}, distance {dist} (thumbnail diff {td:.1f}){more}"
        pair = {"other": rels[orig], "distance": dist}
        out.append(_issue(*_folder(rels[copy]), rels[copy], kind, text, exclude_kinds, **pair))
    return out


def _outlier_issues(
    domain: str, split: str, rel: str, m: Measurement, p: float, exclude_kinds: Sequence[str]
) -> list[Issue]:
    found: list[tuple[str, str]] = []
    short, long_ = min(m.width, m.height), max(m.width, m.height)
    if m.std < UNIFORM_STD:
        found.append(("uniform", f"near-uniform: pixel std {m.std:.4f} < {UNIFORM_STD}"))
    if short < SMALL_SIDE:
        found.append(("small", f"{m.width}x{m.height}: shorter side < {SMALL_SIDE} px"))
    if long_ / max(short, 1) > MAX_ASPECT:
        found.append(("aspect", f"{m.width}x{m.height}: aspect {long_ / short:.2f}:1 > 2:1"))
    if long_ > HUGE_SIDE:
        found.append(("huge", f"{m.width}x{m.height}: longer side > {HUGE_SIDE} px"))
    if m.spread < GRAY_SPREAD and m.std >= UNIFORM_STD:
        found.append(("grayscale", f"grayscale in a colour domain: spread {m.spread:.4f}"))
    if not math.isnan(p):
        if domain == CONTENT_DOMAIN and p > OTHER_DOMAIN_P:
            found.append(("other_domain", f"a photo that looks like anime: P(anime) {p:.3f}"))
        if domain == STYLE_DOMAIN and p < 1 - OTHER_DOMAIN_P:
            found.append(("other_domain", f"anime that looks like a photo: P(anime) {p:.3f}"))
    return [_issue(domain, split, rel, k, text, exclude_kinds) for k, text in found]


def _domain_issues(
    rels: list[str],
    done: dict[str, tuple[Measurement, float]],
    n_seen: int,
    threshold: int,
    thumb_tol: float,
    exclude_kinds: Sequence[str],
) -> list[Issue]:
    """Copies and outliers among one domain's readable images `rels`. The classifier learnt
    from the first `n_seen` train images, so it does not judge those."""
    issues = _copy_issues(rels, [done[r][0] for r in rels], threshold, thumb_tol, exclude_kinds)
    seen = set([r for r in rels if _folder(r)[1] == "train"][:n_seen])
    for rel in rels:
        m, p = done[rel]
        p = math.nan if rel in seen else p
        issues += _outlier_issues(*_folder(rel), rel, m, p, exclude_kinds)
    return issues


def _check_arguments(
    root: Path, limit: int | None, threshold: int, exclude_kinds: Sequence[str]
) -> tuple[str, ...]:
    """Raise for a missing root or domain folder, a bad setting or a missing imagehash; return
    the kinds to exclude, in `KINDS` order."""
    if not root.is_dir():
        raise FileNotFoundError(f"data root not found: {root}. Expected layout: {LAYOUT}.")
    for domain in DOMAINS:
        if not (root / domain).is_dir():
            raise FileNotFoundError(f"no {domain} folder in {root}. Expected layout: {LAYOUT}.")
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be >= 1 or None (all images), got {limit}")
    if not 0 <= threshold < 64:
        raise ValueError(f"threshold must be 0..63 bits, got {threshold}")
    unknown = sorted(set(exclude_kinds) - set(KINDS))
    if unknown:
        raise ValueError(f"unknown kinds {unknown}; choose from {', '.join(KINDS)}")
    if "unreadable" in exclude_kinds:
        raise ValueError("unreadable files cannot be excluded: training skips them anyway")
    if importlib.util.find_spec("imagehash") is None:
        raise ImportError(
            "the data-quality check needs imagehash (in requirements.txt): pip install imagehash"
        )
    return tuple(k for k in KINDS if k in exclude_kinds)


def _readable_counts(
    root: Path, files: dict[tuple[str, str], list[str]], done: Container[str], bad: dict[str, str]
) -> dict[tuple[str, str], int]:
    """Readable images per (domain, split); a folder without one is an error naming it."""
    images = {key: sum(rel in done for rel in rels) for key, rels in files.items()}
    for (domain, split), rels in files.items():
        if not images[(domain, split)]:
            raise ValueError(
                f"no readable image in {domain_folder(root, domain, split)} "
                f"({len(rels)} files, all unusable, e.g. {rels[0]}: {bad[rels[0]]})"
            )
    return images


def check_data(
    root: str | Path,
    *,
    threshold: int = DEFAULT_THRESHOLD,
    thumb_tol: float = DEFAULT_THUMB_TOL,
    limit: int | None = None,
    cache_dir: str | Path | None = None,
    classifier: bool = True,
    device: str | None = None,
    exclude_kinds: Sequence[str] = EXCLUDED_KINDS,
    workers: int = 1,
    progress: bool = True,
) -> QualityReport:
    """Find near-duplicates, leaks and outliers in every (domain, split) folder of `root`.

    `cache_dir` holds the hash cache (and the domain classifier's); None caches nothing.
    `classifier=False` skips the `other_domain` check; `workers` > 1 decodes in processes.
    Errors (FileNotFoundError / ValueError) name the folder: a missing root, domain or split,
    an empty split, or a split with no readable image.
    """
    t0 = time.monotonic()
    root = Path(root).expanduser()
    exclude_kinds = _check_arguments(root, limit, threshold, exclude_kinds)
    files, cut = list_files(root, limit)
    cache_dir = Path(cache_dir) if cache_dir is not None else None
    clf, notes = _get_classifier(classifier, root, cache_dir, device)
    cache_path = cache_dir / CACHE_NAME if cache_dir else None
    cache = HashCache(cache_path, root, clf.digest() if clf is not None else "")
    all_rels = [rel for rels in files.values() for rel in rels]
    done, bad, hashed = measure_all(root, all_rels, cache, clf, workers, progress)
    cache.save()
    images = _readable_counts(root, files, done, bad)
    n_seen = CLASSIFIER_TRAIN_LIMIT if clf is not None else 0  # the classifier learnt from these
    issues = [
        Issue(*_folder(rel), rel, "unreadable", f"{why}; the loader skips it anyway", False)
        for rel, why in bad.items()
    ]
    for domain in DOMAINS:  # one pair search per domain: copies in a split and across its splits
        rels = [rel for rel in all_rels if rel in done and _folder(rel)[0] == domain]
        issues += _domain_issues(rels, done, n_seen, threshold, thumb_tol, exclude_kinds)
    issues.sort(
        key=lambda x: (DOMAINS.index(x.domain), SPLITS.index(x.split), x.file, KINDS.index(x.kind))
    )
    return QualityReport(
        root=root,
        issues=issues,
        images=images,
        threshold=threshold,
        thumb_tol=thumb_tol,
        exclude_kinds=exclude_kinds,
        limit=cut,
        notes=notes,
        seconds=time.monotonic() - t0,
        hashed=hashed,
        cached=len(all_rels) - hashed,
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m vitst_utils.dataquality",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--data-root", help="AvatarAnime folder (default: as training finds it)")
    p.add_argument("--out", type=Path, help=f"output folder (default: {default_out_dir(OUT_NAME)})")
    p.add_argument("--limit", type=int, help="at most N images per split folder (a quick look)")
    p.add_argument(
        "--threshold",
        type=int,
        default=DEFAULT_THRESHOLD,
        help=f"pHash Hamming distance for near-duplicates (default {DEFAULT_THRESHOLD})",
    )
    p.add_argument(
        "--thumb-tol",
        type=float,
        default=DEFAULT_THUMB_TOL,
        help=f"8x8 thumbnail difference (0-255) a copy may have (default {DEFAULT_THUMB_TOL:g})",
    )
    p.add_argument("--no-classifier", action="store_true", help="skip the other_domain check")
    p.add_argument("--device", help="for the domain classifier (default: cuda if available)")
    p.add_argument(
        "--exclude-kinds",
        default=",".join(EXCLUDED_KINDS),
        help=f"kinds left out of training (default {','.join(EXCLUDED_KINDS)}; '' = none)",
    )
    p.add_argument(
        "--workers", type=int, default=min(4, os.cpu_count() or 1), help="decoding processes"
    )
    p.add_argument("--calibrate", action="store_true", help="print the threshold measurements")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    if args.calibrate:
        rows = calibrate(threshold=args.threshold, thumb_tol=args.thumb_tol)
        print(format_table(rows, floatfmt=".1f"))
        return 0
    kinds = [k.strip() for k in args.exclude_kinds.split(",") if k.strip()]
    out = args.out or default_out_dir(OUT_NAME)
    try:
        root = find_data_root(args.data_root)
        report = check_data(
            root,
            threshold=args.threshold,
            thumb_tol=args.thumb_tol,
            limit=args.limit,
            cache_dir=out,
            classifier=not args.no_classifier,
            device=args.device,
            exclude_kinds=kinds,
            workers=args.workers,
        )
        csv_path, exclude_path = write_outputs(report, out)
    except (FileNotFoundError, NotADirectoryError, ValueError, ImportError) as e:
        print("error: " + " ".join(str(e).split()), file=sys.stderr)
        return 2
    print(format_table(report.kind_table()))
    print(report.summary())
    print(f"wrote {csv_path} and {exclude_path}; train without the excluded files:")
    print(f"  python -m vitst_utils.train --preset anime --set exclude_file={exclude_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
