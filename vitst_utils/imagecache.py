"""Training images decoded once into one uint8 file that every DDP rank and DataLoader worker
maps: one copy in RAM (the page cache), however many processes read it.

On Kaggle's 4 vCPUs, decoding JPEGs with PIL feeds about 32 img/s at 224 px, while two T4s
ask for 60-90 (README "Performance"). The cache decodes each image once (rank 0, a thread per
core, with a progress bar; the other ranks wait for the file), resized as the train transform's
Resize (short side = `size`), and stores it as HWC uint8 in `<folder>/<name>-<key>.u8` with a
small index (offset, height, width per image). Items are random `size` x `size` crops, still
uint8 (a slice of the map, no decode); `data.gpu_augment` flips and normalises them on the
device. The key hashes the file list, each file's size and mtime, and `size`: when the data
changes, the file name changes and the cache is rebuilt (older caches of the same name are
removed). Files are written under a temporary name and renamed, so a killed build never
leaves a half cache that looks whole.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.distributed as dist
from PIL import Image
from torch.utils.data import Dataset
from torchvision import transforms
from tqdm.auto import tqdm

from .data import load_image
from .env import on_kaggle
from .rundir import write_atomic

if TYPE_CHECKING:
    from .config import TrainConfig

log = logging.getLogger(__name__)

VERSION = 1
RAM_SHARE = 0.5  # "fits with a margin": the caches take at most this share of available RAM


def cache_key(files: Sequence[str | Path], size: int) -> str:
    """16 hex digits of SHA-256 over (format version, size, each file's path, bytes, mtime)."""
    h = hashlib.sha256(f"vitst-image-cache {VERSION} {size}\n".encode())
    for f in files:
        st = os.stat(f)
        h.update(f"{Path(f).resolve()}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def cache_paths(folder: str | Path, name: str, key: str) -> tuple[Path, Path]:
    """(data file, index file) of the cache `name` with `key` in `folder`."""
    base = Path(folder) / f"{name}-{key}"
    return base.with_suffix(".u8"), base.with_suffix(".json")


def _decode(path: Path, resize: transforms.Resize) -> np.ndarray:
    return np.asarray(resize(load_image(path)), dtype=np.uint8)


def build_cache(
    files: Sequence[str | Path],
    size: int,
    folder: str | Path,
    name: str,
    threads: int | None = None,
    progress: bool = True,
) -> Path:
    """Decode `files` (short side resized to `size`) into `folder/<name>-<key>.u8` unless that
    cache exists; remove older caches of `name`. Returns the data file's path."""
    files = [Path(f) for f in files]
    key = cache_key(files, size)
    data_path, index_path = cache_paths(folder, name, key)
    if index_path.is_file() and data_path.is_file():
        return data_path
    resize = transforms.Resize(size)
    index: list[list[int]] = []
    threads = threads or os.cpu_count() or 1

    def write(out: Any) -> None:
        offset = 0
        with ThreadPoolExecutor(threads) as pool:  # PIL decodes without the GIL
            images = pool.map(lambda p: _decode(p, resize), files)  # in order
            bar = tqdm(
                images, total=len(files), desc=f"caching {name}", unit="img", disable=not progress
            )
            for arr in bar:
                h, w = arr.shape[:2]
                out.write(np.ascontiguousarray(arr).tobytes())
                index.append([offset, h, w])
                offset += h * w * 3

    write_atomic(data_path, write)
    nbytes = sum(h * w * 3 for _, h, w in index)
    meta = {"version": VERSION, "size": size, "key": key, "bytes": nbytes, "index": index}
    write_atomic(index_path, json.dumps(meta))  # last: the index marks a complete cache
    for old in Path(folder).glob(f"{name}-*"):
        if old not in (data_path, index_path) and old.suffix in (".u8", ".json"):
            old.unlink(missing_ok=True)
    return data_path


def wait_for_cache(
    files: Sequence[str | Path], size: int, folder: str | Path, name: str, timeout_s: float
) -> Path:
    """The data file of a cache another process is building; polls the file system (no
    collective call, so a long build cannot time out a DDP barrier)."""
    data_path, index_path = cache_paths(folder, name, cache_key(files, size))
    deadline = time.monotonic() + timeout_s
    while not index_path.is_file():
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"{index_path} did not appear within {timeout_s:.0f} s: did rank 0 fail to build "
                "the image cache? Its log says; or set cache_images=false"
            )
        time.sleep(1.0)
    return data_path


class SharedImageCache(Dataset):
    """Random `size` x `size` uint8 crops (3, S, S) of the images of a cache file, read through
    a memory map opened lazily in each process (the pages are shared by all of them). Keeps the
    source dataset's `files`, `folder`, `skipped` and `excluded` for reports."""

    def __init__(self, source: Any, size: int, data_path: str | Path):
        self.files, self.folder, self.size = list(source.files), Path(source.folder), size
        self.skipped = getattr(source, "skipped", [])
        self.excluded = getattr(source, "excluded", [])
        self.data_path = Path(data_path)
        meta = json.loads(self.data_path.with_suffix(".json").read_text())
        if len(meta["index"]) != len(self.files) or meta["size"] != size:
            raise ValueError(f"{self.data_path} holds another image set: delete it to rebuild")
        self.index = np.asarray(meta["index"], dtype=np.int64)
        self.nbytes = int(meta["bytes"])
        self._data: np.memmap | None = None

    def __getstate__(self) -> dict[str, Any]:  # workers map the file themselves
        return {**self.__dict__, "_data": None}

    def _map(self) -> np.memmap:
        if self._data is None:
            self._data = np.memmap(self.data_path, dtype=np.uint8, mode="r")
        return self._data

    def image(self, index: int) -> np.ndarray:
        """The whole cached image `index`, HWC uint8 (a view of the map)."""
        off, h, w = (int(v) for v in self.index[index])
        return self._map()[off : off + h * w * 3].reshape(h, w, 3)

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, index: int) -> torch.Tensor:
        im = self.image(index)
        h, w = im.shape[:2]
        top = int(torch.randint(0, h - self.size + 1, ()))
        left = int(torch.randint(0, w - self.size + 1, ()))
        crop = np.array(im[top : top + self.size, left : left + self.size])  # copy out of the map
        return torch.from_numpy(crop).permute(2, 0, 1)


def estimate_bytes(files: Sequence[str | Path], size: int, sample: int = 64) -> int:
    """The cache's size in bytes, from the header sizes of up to `sample` evenly spread files
    (no decode)."""
    if not files:
        return 0
    step = max(1, len(files) // sample)
    total = 0
    picked = list(files)[::step][:sample]
    for f in picked:
        with Image.open(f) as im:
            w, h = im.size
        s = size / min(w, h)
        total += round(w * s) * round(h * s) * 3
    return total * len(files) // len(picked)


def available_ram() -> int:
    """Bytes of RAM available now (psutil's `available`: free + reclaimable cache)."""
    import psutil

    return int(psutil.virtual_memory().available)


def fits_in_ram(n_bytes: int, available: int | None = None) -> bool:
    """Whether a cache of `n_bytes` leaves the margin: at most RAM_SHARE of available RAM."""
    available = available_ram() if available is None else available
    return n_bytes <= RAM_SHARE * available


def default_cache_folder(on_kaggle: bool) -> Path:
    """Kaggle: /kaggle/temp (scratch, not saved as output); elsewhere the system temp folder."""
    if on_kaggle:
        return Path("/kaggle/temp/vitst-image-cache")
    import tempfile

    return Path(tempfile.gettempdir()) / "vitst-image-cache"


def cache_decision(setting: bool | str, files: Sequence[str | Path], size: int) -> tuple[bool, str]:
    """(cache or not, why) for `TrainConfig.cache_images`: true / false as set; "auto" caches
    when the estimated cache fits in RAM_SHARE of the available RAM."""
    if setting != "auto":
        return bool(setting), ""
    need, have = estimate_bytes(files, size), available_ram()
    ok = fits_in_ram(need, have)
    verdict = "caching" if ok else "decoding every epoch instead (cache_images=true forces it)"
    return ok, f"auto: {need / 2**20:.0f} MiB of images, {have / 2**20:.0f} MiB RAM free: {verdict}"


def cache_training_images(data: dict[str, Any], cfg: TrainConfig, main: bool, world: int) -> None:
    """Per `cfg.cache_images` (`cache_decision`), serve `data`'s two training sets from shared
    decoded caches, in place. Rank 0 decides for all ranks (a rank waiting for a cache never
    built hangs) and decodes once; the others poll for the finished file."""
    files = [*data["content_train"].files, *data["style_train"].files]
    use_cache, why = cache_decision(cfg.cache_images, files, cfg.image_size)
    if world > 1:
        decision = [use_cache]
        dist.broadcast_object_list(decision, src=0)
        use_cache = decision[0]
    if main and why:
        log.info("cache_images: %s", why)
    if not use_cache:
        return
    folder = Path(cfg.cache_dir) if cfg.cache_dir else default_cache_folder(on_kaggle())
    for key in ("content_train", "style_train"):
        files, name = data[key].files, f"{key}-{cfg.image_size}"
        if main:
            path = build_cache(files, cfg.image_size, folder, name, progress=True)
        else:
            path = wait_for_cache(files, cfg.image_size, folder, name, timeout_s=4 * 3600)
        data[key] = SharedImageCache(data[key], cfg.image_size, path)
    if main:
        mib = sum(data[k].nbytes for k in ("content_train", "style_train")) / 2**20
        log.info("cache_images: training images in %s (%.0f MiB, shared)", folder, mib)
