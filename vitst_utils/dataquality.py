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
import csv
import hashlib
import importlib.util
import io
import logging
import math
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Container, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from itertools import zip_longest
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from tqdm.auto import tqdm

from .config import CONTENT_DOMAIN, STYLE_DOMAIN
from .data import (
    DOMAINS,
    IMAGE_EXTENSIONS,
    LAYOUT,
    SPLITS,
    ImageSkipped,
    domain_folder,
    find_data_root,
    load_image,
)
from .domain import square_view
from .explore import PROGRESS_MIN, format_table, short_name
from .rundir import default_out_dir, write_atomic

log = logging.getLogger(__name__)

# --- thresholds (see the README section "Data quality" for how they were chosen) -------------
DEFAULT_THRESHOLD = 10  # pHash Hamming distance (of 64 bits) for a candidate pair
DEFAULT_THUMB_TOL = 10.0  # 8x8 RGB thumbnails: mean absolute difference (0-255) for a real copy
THUMB_SIDE = 8
STATS_SIDE = 64  # pixel spread measured on a 64x64 area-average thumbnail
UNIFORM_STD = 0.02  # largest per-channel pixel std (0-1) of a near-uniform image (~5/255)
SMALL_SIDE = 64  # shorter side below this: too small for any preset (smoke trains at 64)
HUGE_SIDE = 4096  # longer side above this: slow to decode, worth a look, not wrong
MAX_ASPECT = 2.0  # longer / shorter side beyond this: a square crop loses over half the image
GRAY_SPREAD = 0.02  # mean (max - min channel) per pixel (0-1) below this: a grayscale image
OTHER_DOMAIN_P = 0.95  # a photo with P(anime) > 0.95, or anime with P(anime) < 0.05
MIN_CLASSIFIER_ACCURACY = 0.9  # the classifier's held-out accuracy needed to trust it
CLASSIFIER_TRAIN_LIMIT = 2000  # it learns from the first 2000 train images of each domain

KINDS = (
    "duplicate",
    "leak",
    "uniform",
    "small",
    "aspect",
    "huge",
    "grayscale",
    "other_domain",
    "unreadable",
)
# Left out of training by default: copies and images with nothing to learn from. Reported only:
# big images (fine, just slow), grayscale ones (a grey manga face is still a face), the
# classifier's verdicts (a model's opinion: look first) and unreadable files (the loader skips
# them anyway).
EXCLUDED_KINDS = ("duplicate", "leak", "uniform", "small", "aspect")
CSV_COLUMNS = ("domain", "split", "file", "kind", "detail")
CACHE_FORMAT = "vitst-dataquality-cache"
CACHE_VERSION = 1
CACHE_NAME = "hash_cache.npz"
POOL_MIN = 256  # decode in worker processes from this many files on (start-up costs ~0.3 s)
OUT_NAME = "data_quality"  # the default --out: rundir.default_out_dir(OUT_NAME)
_POP8 = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


# --- measuring one image -----------------------------------------------------------------------
@dataclass
class Measurement:
    """What one image contributes: perceptual hash, thumbnail, size, pixel spread."""

    phash: int  # 64-bit pHash as an int (hex: f"{phash:016x}", as str(imagehash.phash(im)))
    thumb: np.ndarray  # uint8 (THUMB_SIDE * THUMB_SIDE * 3,)
    width: int
    height: int
    std: float  # largest per-channel pixel std, 0-1
    spread: float  # mean over pixels of (max - min channel), 0-1: 0 for a grey image
    square: np.ndarray | None = None  # uint8 (3, s, s) for the domain classifier


def _phash_int(im: Image.Image) -> int:
    import imagehash  # here, so the module loads without it (check_data says what is missing)

    return int(str(imagehash.phash(im)), 16)


def measure_image(path: str | Path, square_side: int | None = None) -> Measurement:
    """Decode `path` as the training loader does (`data.load_image`: ImageSkipped for junk)
    and measure it; with `square_side`, also the centre square the domain classifier scores."""
    return measure_pil(load_image(path), square_side)


def measure_pil(im: Image.Image, square_side: int | None = None) -> Measurement:
    """`measure_image` of an RGB image already decoded."""
    small = im.resize((STATS_SIDE, STATS_SIDE), Image.Resampling.BOX)
    a = np.asarray(small, dtype=np.float32).reshape(-1, 3) / 255.0
    thumb = small.resize((THUMB_SIDE, THUMB_SIDE), Image.Resampling.BOX)
    return Measurement(
        phash=_phash_int(im),
        thumb=np.asarray(thumb, dtype=np.uint8).reshape(-1).copy(),
        width=im.width,
        height=im.height,
        std=float(a.std(axis=0).max()),
        spread=float((a.max(axis=1) - a.min(axis=1)).mean()),
        square=square_view(im, square_side).numpy() if square_side else None,
    )


def _measure_or_reason(args: tuple[str, int | None]) -> Measurement | str:
    """Pool worker: a Measurement, or why the file cannot be used."""
    try:
        return measure_image(*args)
    except ImageSkipped as e:
        return e.reason
    except OSError as e:
        return f"cannot read: {e}"


# --- the pair search ---------------------------------------------------------------------------
def popcount64(x: np.ndarray) -> np.ndarray:
    """Set bits per element of a uint64 array (numpy >= 2 has it built in)."""
    x = np.ascontiguousarray(x, dtype=np.uint64)
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(x)
    return _POP8[x.view(np.uint8).reshape(*x.shape, 8)].sum(axis=-1, dtype=np.uint8)


def hamming(a: int, b: int) -> int:
    """Bits that differ between two 64-bit hashes."""
    return (int(a) ^ int(b)).bit_count()


def _bands(threshold: int) -> list[tuple[int, int]]:
    """(shift, width) of `threshold + 1` contiguous bit bands covering the 64 bits."""
    n = min(threshold + 1, 64)
    widths = [64 // n + (1 if k < 64 % n else 0) for k in range(n)]
    shifts = np.cumsum([0, *widths[:-1]])
    return [(int(s), w) for s, w in zip(shifts, widths, strict=True)]


def near_pairs(
    hashes: Sequence[int] | np.ndarray,
    threshold: int,
    accept: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
    block: int = 256,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every pair (i < j) of 64-bit hashes within Hamming distance `threshold`: (i, j, d),
    sorted. With `accept(i, j) -> bool mask`, only the pairs it accepts (checked as found, so
    memory holds verified pairs only).

    Multi-index search: split the 64 bits into threshold + 1 bands; two hashes within the
    threshold agree exactly on at least one band (pigeonhole), so only hashes sharing a band
    value are compared. Exact: the same pairs as all-pairs comparison, at a fraction of its
    cost (300k random hashes at threshold 10: about 30 s on a busy 2-core CPU).
    """
    if not 0 <= threshold < 64:
        raise ValueError(f"threshold must be 0..63 bits, got {threshold}")
    h = np.ascontiguousarray(hashes, dtype=np.uint64)
    n = len(h)
    codes: list[np.ndarray] = [np.zeros(0, np.int64)]
    dists: list[np.ndarray] = [np.zeros(0, np.int64)]
    upper = np.triu(np.ones((block, block), dtype=bool), 1)
    for shift, width in _bands(threshold) if n > 1 else []:
        key = (h >> np.uint64(shift)) & np.uint64((1 << width) - 1)
        order = np.argsort(key, kind="stable")
        k = key[order]
        starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
        ends = np.r_[starts[1:], n]
        shared = ends - starts > 1
        for s, e in zip(starts[shared], ends[shared], strict=True):
            idx = np.sort(order[s:e])
            for r0 in range(0, len(idx), block):
                rows, cols = idx[r0 : r0 + block], idx[r0:]
                d = popcount64(h[rows][:, None] ^ h[cols][None, :])
                close = d <= threshold
                close[:, : len(rows)] &= upper[: len(rows), : len(rows)]  # each pair once
                ri, ci = np.nonzero(close)
                i, j, dd = rows[ri], cols[ci], d[ri, ci]
                if accept is not None and len(i):
                    ok = np.asarray(accept(i, j), dtype=bool)
                    i, j, dd = i[ok], j[ok], dd[ok]
                codes.append(i.astype(np.int64) * n + j)
                dists.append(dd.astype(np.int64))
    code, first = np.unique(np.concatenate(codes), return_index=True)
    return code // max(n, 1), code % max(n, 1), np.concatenate(dists)[first]


def thumb_diff(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Mean absolute difference (0-255) between thumbnails, row by row."""
    return np.abs(a.astype(np.int16) - b.astype(np.int16)).mean(axis=-1)


def copy_pairs(
    hashes: np.ndarray, thumbs: np.ndarray, threshold: int, thumb_tol: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (i < j, distance) of near-copies: hash within `threshold` and thumbnails within
    `thumb_tol`. Identical images (same hash and thumbnail) are paired with their first one
    only, so a thousand copies of a placeholder give a thousand pairs, not half a million."""
    first: dict[tuple[int, bytes], int] = {}
    keys = zip(hashes.tolist(), (t.tobytes() for t in thumbs), strict=True)
    rep = np.array([first.setdefault(key, k) for k, key in enumerate(keys)], dtype=np.int64)
    is_rep = rep == np.arange(len(rep))
    reps, same = np.flatnonzero(is_rep), np.flatnonzero(~is_rep)

    def accept(i: np.ndarray, j: np.ndarray) -> np.ndarray:
        return thumb_diff(thumbs[reps[i]], thumbs[reps[j]]) <= thumb_tol

    i, j, d = near_pairs(hashes[reps], threshold, accept)
    i = np.concatenate([reps[i], rep[same]])
    j = np.concatenate([reps[j], same])
    d = np.concatenate([d, np.zeros(len(same), np.int64)])
    order = np.lexsort((j, i))
    return i[order], j[order], d[order]


# --- listing and the cache ---------------------------------------------------------------------
def list_split(root: Path, domain: str, split: str) -> list[Path]:
    """Image-named regular files of one split folder, by name.

    A missing folder or one without a single image file is an error naming it."""
    folder = domain_folder(root, domain, split)
    if not folder.is_dir():
        raise FileNotFoundError(
            f"split folder missing: {folder}. Every domain needs train, val and test; "
            f"expected layout: {LAYOUT}."
        )
    with os.scandir(folder) as it:
        names = sorted(
            e.name
            for e in it
            if not e.name.startswith(".")
            and Path(e.name).suffix.lower() in IMAGE_EXTENSIONS
            and e.is_file()
        )
    if not names:
        raise ValueError(
            f"empty split: no image file in {folder} "
            f"({', '.join(sorted(IMAGE_EXTENSIONS))}); put the split's images there."
        )
    return [folder / name for name in names]


def _fingerprint(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_size, st.st_mtime_ns


class HashCache:
    """Measurements keyed by (path relative to the data root, size, mtime): a second run
    decodes only new or changed files. Stored as one .npz (no pickle); a corrupt or foreign
    file is ignored (with a warning) and rewritten. P(anime) is reused only from the same
    classifier (`classifier_id`)."""

    def __init__(self, path: Path | None, root: Path, classifier_id: str = ""):
        self.path, self.root, self.classifier_id = path, str(root.resolve()), classifier_id
        self.entries: dict[str, tuple[int, int, Measurement, float]] = {}
        if path is not None and path.is_file():
            try:
                self._read(path)
            except Exception as e:  # any damage: start afresh, never trust it
                log.warning("Ignoring the hash cache %s (%s); hashing again.", path, e)
                self.entries = {}

    def _read(self, path: Path) -> None:
        with np.load(path, allow_pickle=False) as z:
            meta = dict(zip(z["meta_keys"].tolist(), z["meta_values"].tolist(), strict=True))
            rels = bytes(z["rels"]).decode("utf-8").split("\n") if len(z["rels"]) else []
            cols = [z[k] for k in ("size", "mtime", "phash", "thumb", "wh", "std", "spread", "p")]
        if meta.get("format") != CACHE_FORMAT or meta.get("version") != str(CACHE_VERSION):
            raise ValueError("not a data-quality cache of this version")
        if meta.get("root") != self.root:
            raise ValueError(f"written for another data root ({meta.get('root')})")
        if any(len(c) != len(rels) for c in cols):
            raise ValueError("columns of different lengths")
        size, mtime, ph, thumb, wh, std, spread, p = cols
        if meta.get("classifier") != self.classifier_id:
            p = np.full(len(rels), math.nan)
        for k, rel in enumerate(rels):
            m = Measurement(int(ph[k]), thumb[k], int(wh[k, 0]), int(wh[k, 1]), std[k], spread[k])
            self.entries[rel] = (int(size[k]), int(mtime[k]), m, float(p[k]))

    def get(self, rel: str, fp: tuple[int, int], need_p: bool) -> tuple[Measurement, float] | None:
        e = self.entries.get(rel)
        if e is None or (e[0], e[1]) != fp or (need_p and math.isnan(e[3])):
            return None
        return e[2], e[3]

    def put(self, rel: str, fp: tuple[int, int], m: Measurement, p: float) -> None:
        if "\n" not in rel:  # the file stores names one a line
            self.entries[rel] = (fp[0], fp[1], m, p)

    def save(self) -> None:
        if self.path is None:
            return
        vals = list(self.entries.values())
        ms = [m for _, _, m, _ in vals]
        meta = {"format": CACHE_FORMAT, "version": str(CACHE_VERSION), "root": self.root}
        meta["classifier"] = self.classifier_id
        arrays = {
            "meta_keys": np.array(list(meta)),
            "meta_values": np.array(list(meta.values())),
            "rels": np.frombuffer("\n".join(self.entries).encode("utf-8"), dtype=np.uint8),
            "size": np.array([v[0] for v in vals], dtype=np.int64),
            "mtime": np.array([v[1] for v in vals], dtype=np.int64),
            "phash": np.array([m.phash for m in ms], dtype=np.uint64),
            "thumb": np.array([m.thumb for m in ms], dtype=np.uint8).reshape(-1, THUMB_SIDE**2 * 3),
            "wh": np.array([(m.width, m.height) for m in ms], dtype=np.int64).reshape(-1, 2),
            "std": np.array([m.std for m in ms], dtype=np.float64),
            "spread": np.array([m.spread for m in ms], dtype=np.float64),
            "p": np.array([v[3] for v in vals], dtype=np.float64),
        }
        try:
            write_atomic(self.path, lambda f: np.savez(f, **arrays))
        except OSError as e:  # a read-only out folder costs a re-hash next time, nothing else
            log.warning("Could not write the hash cache %s: %s", self.path, e)


# --- the domain classifier (optional) ----------------------------------------------------------
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


def _classifier_id(clf: Any) -> str:
    """A digest of the classifier's weights: the cache's P(anime) of another one is not used."""
    digest = hashlib.sha256()
    for k, v in sorted(clf.net.state_dict().items()):
        digest.update(k.encode())
        digest.update(v.detach().float().cpu().numpy().tobytes())
    return digest.hexdigest()[:16]


def _p_anime(clf: Any, ms: list[Measurement]) -> list[float]:
    """The classifier's P(anime) of each image's centre square; nan without a classifier."""
    if clf is None or not ms:
        return [math.nan] * len(ms)
    pixels = torch.from_numpy(np.stack([m.square for m in ms])).float() / 255.0
    return clf.prob_pixels(pixels).tolist()


# --- the report --------------------------------------------------------------------------------
@dataclass
class Issue:
    """One row of data_quality.csv; `other` is the original of a duplicate or leak."""

    domain: str
    split: str
    file: str  # relative to the data root, e.g. "AnimeFace/val/00012.png"
    kind: str
    detail: str
    excluded: bool
    other: str | None = None
    distance: int | None = None  # pHash distance to `other`


@dataclass
class QualityReport:
    """Everything one check found, with the settings it used."""

    root: Path
    issues: list[Issue]
    images: dict[tuple[str, str], int]  # images measured per (domain, split)
    threshold: int
    thumb_tol: float
    exclude_kinds: tuple[str, ...]
    limit: int | None = None  # set when it cut a folder short
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    hashed: int = 0  # files decoded this time
    cached: int = 0  # images whose measurements came from the hash cache

    @property
    def exclude(self) -> dict[str, str]:
        """{file: reason} of the files left out of training (first excluded issue each)."""
        out: dict[str, str] = {}
        for issue in self.issues:
            if issue.excluded and issue.file not in out:
                out[issue.file] = f"{issue.kind}: {issue.detail}"
        return out

    def of_kind(self, *kinds: str) -> list[Issue]:
        return [i for i in self.issues if i.kind in kinds]

    def kind_table(self) -> list[dict[str, Any]]:
        """Counts per kind and (domain, split), plus whether the kind is excluded."""
        counts = Counter((i.kind, i.domain, i.split) for i in self.issues)
        rows = []
        for kind in KINDS:
            per = {f"{d}/{s}": counts[(kind, d, s)] for d, s in self.images}
            verdict = "excluded" if kind in self.exclude_kinds else "reported"
            rows.append({"kind": kind, **per, "total": sum(per.values()), "training": verdict})
        per = {f"{d}/{s}": n for (d, s), n in self.images.items()}
        left_out = f"{len(self.exclude)} left out"
        rows.append(
            {"kind": "images checked", **per, "total": sum(per.values()), "training": left_out}
        )
        return rows

    def summary(self) -> str:
        lines = [
            f"{sum(self.images.values())} images in {len(self.images)} folders of {self.root} "
            f"({self.hashed} files decoded, {self.cached} from the cache) in {self.seconds:.1f} s; "
            f"near-duplicate = pHash distance <= {self.threshold} and thumbnail "
            f"difference <= {self.thumb_tol:g}",
            f"{len(self.issues)} findings; {len(self.exclude)} files to leave out of training "
            f"({', '.join(self.exclude_kinds) or 'no kind excluded'})",
        ]
        if self.limit:
            lines.append(f"limit: only the first {self.limit} images of each folder were checked")
        return "\n".join(lines + self.notes)


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


# --- measuring every file ----------------------------------------------------------------------
def _decode(paths: list[str], square_side: int | None, workers: int) -> Iterator[Measurement | str]:
    """`_measure_or_reason` of each path, in order; in worker processes when it pays."""
    args = [(p, square_side) for p in paths]
    if workers <= 1 or len(args) < POOL_MIN:
        yield from map(_measure_or_reason, args)
        return
    pool = ProcessPoolExecutor(workers)
    try:
        yield from pool.map(_measure_or_reason, args, chunksize=64)
    finally:
        pool.shutdown(cancel_futures=True)


def _measure_all(
    root: Path, rels: list[str], cache: HashCache, clf: Any, workers: int, progress: bool
) -> tuple[dict[str, tuple[Measurement, float]], dict[str, str], int]:
    """{rel: (measurement, P(anime) or nan)} of the readable files, {rel: why not} of the
    others, and how many files were decoded (not found in the cache)."""
    fps = {rel: _fingerprint(root / rel) for rel in rels}
    hits = {rel: cache.get(rel, fp, need_p=clf is not None) for rel, fp in fps.items()}
    done = {rel: hit for rel, hit in hits.items() if hit is not None}
    todo = [(rel, fp) for rel, fp in fps.items() if hits[rel] is None]
    bad: dict[str, str] = {}
    batch: list[tuple[str, tuple[int, int], Measurement]] = []  # waiting for the classifier

    def score() -> None:
        for (rel, fp, m), p in zip(batch, _p_anime(clf, [b[2] for b in batch]), strict=True):
            m.square = None
            done[rel] = (m, p)
            cache.put(rel, fp, m, p)
        batch.clear()

    side = clf.image_size if clf is not None else None
    decoded = _decode([str(root / rel) for rel, _ in todo], side, workers)
    show = progress and len(todo) >= PROGRESS_MIN
    bar = tqdm(total=len(todo), desc="hashing", unit="img", disable=not show)
    with closing(decoded), bar:
        for (rel, fp), result in zip(todo, decoded, strict=True):
            bar.update()
            if isinstance(result, str):
                bad[rel] = result
                continue
            batch.append((rel, fp, result))
            if len(batch) >= 256:
                score()
        score()
    return done, bad, len(todo)


# --- the check ---------------------------------------------------------------------------------
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


def _list_files(
    root: Path, limit: int | None
) -> tuple[dict[tuple[str, str], list[str]], int | None]:
    """The files to check per (domain, split), relative to `root` (the first `limit` of each),
    and `limit` if it cut a folder short, else None."""
    listed = {(d, s): list_split(root, d, s) for d in DOMAINS for s in SPLITS}
    files = {key: [p.relative_to(root).as_posix() for p in v[:limit]] for key, v in listed.items()}
    cut = limit if any(len(v) > len(files[key]) for key, v in listed.items()) else None
    return files, cut


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
    files, cut = _list_files(root, limit)
    cache_dir = Path(cache_dir) if cache_dir is not None else None
    clf, notes = _get_classifier(classifier, root, cache_dir, device)
    cache_path = cache_dir / CACHE_NAME if cache_dir else None
    cache = HashCache(cache_path, root, _classifier_id(clf) if clf is not None else "")
    all_rels = [rel for rels in files.values() for rel in rels]
    done, bad, hashed = _measure_all(root, all_rels, cache, clf, workers, progress)
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


# --- writing -----------------------------------------------------------------------------------
def _listable(rel: str) -> bool:
    """Whether `data.read_exclude_file` can read `rel` back: it cuts comments at "#" and strips
    whitespace, so such names cannot be listed."""
    return "#" not in rel and rel == rel.strip() and "\n" not in rel and "\r" not in rel


def write_outputs(report: QualityReport, out: str | Path) -> tuple[Path, Path]:
    """Write `<out>/data_quality.csv` and `<out>/exclude.txt` (the format
    `data.read_exclude_file` reads); return their paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    csv_path, exclude_path = out / "data_quality.csv", out / "exclude.txt"
    with open(csv_path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(CSV_COLUMNS)
        for i in report.issues:
            writer.writerow([i.domain, i.split, i.file, i.kind, i.detail])
    exclude = report.exclude
    listed = {rel: why for rel, why in exclude.items() if _listable(rel)}
    unlisted = sorted(set(exclude) - set(listed))
    stamp = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    listed_at = exclude_path.resolve()
    header = [
        f"# Exclude list written by vitst_utils.dataquality on {stamp}",
        f"# data root: {report.root.resolve()}",
        f"# near-duplicate: pHash Hamming distance <= {report.threshold} (of 64 bits) and "
        f"8x8 thumbnail difference <= {report.thumb_tol:g}",
        f"# left out: {', '.join(report.exclude_kinds) or 'nothing'}; {len(listed)} files"
        + (f" (limit: first {report.limit} images per folder checked)" if report.limit else ""),
        "# paths are relative to the data root; train without them:",
        f"#   python -m vitst_utils.train --preset anime --set exclude_file={listed_at}",
    ]
    header += [f"# NOT listed (its name holds '#' or edge spaces): {rel}" for rel in unlisted]
    lines = [f"{rel}  # {why.replace(chr(10), ' ')}" for rel, why in sorted(listed.items())]
    exclude_path.write_text("\n".join(header + lines) + "\n", encoding="utf-8")
    return csv_path, exclude_path


# --- figures for notebook 01 -------------------------------------------------------------------
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
    (duplicates and leaks, the first `n` pairs)."""
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
    """Images and captions of up to `n` outliers, the kinds taking turns."""
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


# --- planted copies and the threshold ----------------------------------------------------------
def make_copy(im: Image.Image, how: str, rng: np.random.Generator) -> Image.Image:
    """A near-copy as scraped sets hold them: "resize" (0.5-1.5x), "jpeg" (quality 30-70),
    "crop" (1-3 % of each side's length, at a random offset) or "all" three in a row."""
    if how not in ("crop", "resize", "jpeg", "all"):
        raise ValueError(f"how must be resize, jpeg, crop or all, got {how!r}")
    if how in ("crop", "all"):
        w, h = im.size
        f = rng.uniform(0.01, 0.03)
        dx, dy = round(w * f), round(h * f)
        left, top = int(rng.integers(0, dx + 1)), int(rng.integers(0, dy + 1))
        im = im.crop((left, top, w - dx + left, h - dy + top))
    if how in ("resize", "all"):
        s = rng.uniform(0.5, 1.5)
        im = im.resize((max(8, round(im.width * s)), max(8, round(im.height * s))), Image.BICUBIC)
    if how in ("jpeg", "all"):
        buf = io.BytesIO()
        im.convert("RGB").save(buf, "JPEG", quality=int(rng.integers(30, 71)))
        im = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    return im


def _calibration_row(
    domain: str, pairs: str, d: np.ndarray, td: np.ndarray, threshold: int, tol: float
) -> dict[str, Any]:
    by_hash = d <= threshold
    return {
        "domain": domain,
        "pairs": pairs,
        "n": len(d),
        "pHash median": float(np.median(d)),
        "pHash range": f"{d.min()}-{d.max()}",
        "thumb median": float(np.median(td)),
        "thumb range": f"{td.min():.1f}-{td.max():.1f}",
        f"pHash <= {threshold}": int(by_hash.sum()),
        f"and thumb <= {tol:g}": int((by_hash & (td <= tol)).sum()),
    }


def calibrate(
    n: int = 200,
    size: int = 128,
    seed: int = 0,
    threshold: int = DEFAULT_THRESHOLD,
    thumb_tol: float = DEFAULT_THUMB_TOL,
) -> list[dict[str, Any]]:
    """How the thresholds were chosen: distances of planted copies vs distinct images.

    Per domain, `n` synthetic faces (`sample_data`), one copy of each per kind (`make_copy`),
    and all pairs of the distinct faces; each row counts the pairs the hash finds and those
    that pass both checks (copies: the more the better; distinct: false flags)."""
    from .sample_data import draw_anime_face, draw_photo_face

    rows = []
    for domain, draw in ((CONTENT_DOMAIN, draw_photo_face), (STYLE_DOMAIN, draw_anime_face)):
        rng = np.random.default_rng(seed)
        ims = [draw(np.random.default_rng([seed, 99, k]), size) for k in range(n)]
        ms = [measure_pil(im) for im in ims]
        h = np.array([m.phash for m in ms], dtype=np.uint64)
        t = np.stack([m.thumb for m in ms])
        for how in ("resize", "jpeg", "crop", "all"):
            cs = [measure_pil(make_copy(im, how, rng)) for im in ims]
            d = popcount64(h ^ np.array([c.phash for c in cs], dtype=np.uint64))
            td = thumb_diff(t, np.stack([c.thumb for c in cs]))
            rows.append(_calibration_row(domain, f"copy: {how}", d, td, threshold, thumb_tol))
        i, j = np.triu_indices(n, 1)
        d, td = popcount64(h[i] ^ h[j]), thumb_diff(t[i], t[j])
        rows.append(_calibration_row(domain, "distinct", d, td, threshold, thumb_tol))
    return rows


# --- CLI ---------------------------------------------------------------------------------------
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
