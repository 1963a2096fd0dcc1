"""Near-copies: what each image contributes (a 64-bit perceptual hash, an 8x8 thumbnail, its size
and pixel spread), the banded search for pairs of close hashes, the cache of measurements, and
measuring every file of a data root once; planted copies and the calibration of the thresholds
(`python -m vitst_utils.dataquality --calibrate`, README "Data quality").

Two images are near-copies when their hashes differ in at most `threshold` bits AND their
thumbnails differ by at most `thumb_tol`: the hash finds candidates fast (multi-index search,
no all-pairs comparison), the thumbnail check drops look-alikes that are different pictures
(aligned faces hash alike).
"""

from __future__ import annotations

import io
import logging
import math
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import closing
from dataclasses import dataclass
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
    is_image_name,
    load_image,
)
from .domain import square_view
from .explore import PROGRESS_MIN
from .rundir import write_atomic

log = logging.getLogger(__name__)

# --- thresholds (see the README section "Data quality" for how they were chosen) -------------
DEFAULT_THRESHOLD = 10  # pHash Hamming distance (of 64 bits) for a candidate pair
DEFAULT_THUMB_TOL = 10.0  # 8x8 RGB thumbnails: mean absolute difference (0-255) for a real copy
THUMB_SIDE = 8
STATS_SIDE = 64  # pixel spread measured on a 64x64 area-average thumbnail
CACHE_FORMAT = "vitst-dataquality-cache"
CACHE_VERSION = 1
CACHE_NAME = "hash_cache.npz"
POOL_MIN = 256  # decode in worker processes from this many files on (start-up costs ~0.3 s)
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


# --- the files, the cache, and measuring every file -------------------------------------------
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
        names = sorted(e.name for e in it if is_image_name(e.name) and e.is_file())
    if not names:
        raise ValueError(
            f"empty split: no image file in {folder} "
            f"({', '.join(sorted(IMAGE_EXTENSIONS))}); put the split's images there."
        )
    return [folder / name for name in names]


def list_files(
    root: Path, limit: int | None
) -> tuple[dict[tuple[str, str], list[str]], int | None]:
    """The files to check per (domain, split), relative to `root` (the first `limit` of each),
    and `limit` if it cut a folder short, else None."""
    listed = {(d, s): list_split(root, d, s) for d in DOMAINS for s in SPLITS}
    files = {key: [p.relative_to(root).as_posix() for p in v[:limit]] for key, v in listed.items()}
    cut = limit if any(len(v) > len(files[key]) for key, v in listed.items()) else None
    return files, cut


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


def _p_anime(clf: Any, ms: list[Measurement]) -> list[float]:
    """The classifier's P(anime) of each image's centre square; nan without a classifier."""
    if clf is None or not ms:
        return [math.nan] * len(ms)
    pixels = torch.from_numpy(np.stack([m.square for m in ms])).float() / 255.0
    return clf.prob_pixels(pixels).tolist()


def measure_all(
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


# --- planted copies and the thresholds ---------------------------------------------------------
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
