"""The shared image cache: decoded once, the same bytes in every process, one copy in RAM,
rebuilt when the data changes, and a training run that reads from it."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from vitst_utils import imagecache as IC
from vitst_utils.data import ImageFolderDataset, gpu_augment

REPO = Path(__file__).resolve().parents[1]
SIZE = 384  # large enough that the cache (~20 MB) stands well above RSS noise


@pytest.fixture
def folder(tmp_path):
    rng = np.random.default_rng(0)
    d = tmp_path / "images"
    d.mkdir()
    for i in range(40):
        h, w = (48, 64) if i % 2 else (64, 48)
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(d / f"{i:03d}.png")
    return d


def _build(folder, cache_dir):
    ds = ImageFolderDataset(folder)
    return ds, IC.build_cache(ds.files, SIZE, cache_dir, "content_train", progress=False)


def test_cache_holds_the_resized_images_and_serves_uint8_crops(folder, tmp_path):
    ds, path = _build(folder, tmp_path / "cache")
    cache = IC.SharedImageCache(ds, SIZE, path)
    assert len(cache) == 40 and path.stat().st_size == cache.nbytes
    assert cache.image(0).shape == (SIZE * 4 // 3, SIZE, 3)  # 48 x 64 portrait: short side SIZE
    assert cache.image(1).shape == (SIZE, SIZE * 4 // 3, 3)
    from torchvision import transforms

    want = np.array(transforms.Resize(SIZE)(Image.open(ds.files[1]).convert("RGB")))
    assert np.array_equal(cache.image(1), want)  # exactly what the train transform's Resize gives
    crop = cache[1]
    assert crop.dtype == torch.uint8 and crop.shape == (3, SIZE, SIZE)
    rows = torch.from_numpy(want).permute(2, 0, 1)
    assert any(torch.equal(crop, rows[:, :, x : x + SIZE]) for x in range(rows.shape[2] - SIZE + 1))
    x = gpu_augment(torch.stack([cache[0], cache[1]]))
    assert x.dtype == torch.float32 and x.shape == (2, 3, SIZE, SIZE)
    assert IC.estimate_bytes(ds.files, SIZE) == cache.nbytes  # header sizes, no decode
    assert IC.fits_in_ram(cache.nbytes, available=4 * cache.nbytes)
    assert not IC.fits_in_ram(cache.nbytes, available=cache.nbytes)


def test_the_cache_is_rebuilt_when_the_data_changes(folder, tmp_path):
    ds, first = _build(folder, tmp_path / "cache")
    mtime = first.stat().st_mtime_ns
    _, again = _build(folder, tmp_path / "cache")
    assert again == first and first.stat().st_mtime_ns == mtime  # unchanged: reused, not rebuilt
    Image.new("RGB", (64, 48), (255, 0, 0)).save(ds.files[3])  # one image replaced
    _, rebuilt = _build(folder, tmp_path / "cache")
    assert rebuilt != first and not first.exists()  # new key; the stale cache is removed
    cache = IC.SharedImageCache(ds, SIZE, rebuilt)
    assert (cache.image(3) == [255, 0, 0]).all()
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == sorted(
        [rebuilt.name, rebuilt.with_suffix(".json").name]
    )
    assert IC.cache_key(ds.files, SIZE) != IC.cache_key(ds.files, SIZE + 16)  # size is keyed


READER = textwrap.dedent(
    """
    import hashlib, json, sys, time
    from pathlib import Path
    from types import SimpleNamespace
    from vitst_utils.imagecache import SharedImageCache

    path, me, other, size, n = sys.argv[1:6]
    src = SimpleNamespace(files=[Path(f"{i}.png") for i in range(int(n))], folder=Path("."))
    cache = SharedImageCache(src, int(size), path)
    digest = hashlib.sha256(b"".join(cache.image(i).tobytes() for i in range(len(cache))))
    Path(me).write_text("ready")
    while not Path(other).exists():  # both processes hold the whole map at the same time
        time.sleep(0.05)
    lines = Path("/proc/self/smaps").read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if line.endswith(str(Path(path).resolve())))
    fields = {}
    for line in lines[at + 1 :]:
        key = line.split(":")[0]
        if not key[:1].isupper() or " " in key:
            break
        fields[key] = int(line.split()[1]) * 1024 if line.split()[-1] == "kB" else 0
    print(json.dumps({"sha": digest.hexdigest(), **fields}))
    time.sleep(0.5)  # stay mapped until the other has measured too
    """
)


@pytest.mark.skipif(not Path("/proc/self/smaps").exists(), reason="needs Linux /proc")
def test_two_processes_share_one_copy(folder, tmp_path):
    ds, path = _build(folder, tmp_path / "cache")
    cache = IC.SharedImageCache(ds, SIZE, path)
    want = __import__("hashlib").sha256(
        b"".join(cache.image(i).tobytes() for i in range(len(cache)))
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    flags = [tmp_path / "a.ready", tmp_path / "b.ready"]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", READER, str(path), str(me), str(other), str(SIZE), "40"],
            stdout=subprocess.PIPE,
            env=env,
            text=True,
        )
        for me, other in (flags, flags[::-1])
    ]
    results = [json.loads(p.communicate(timeout=120)[0]) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    size = cache.nbytes
    for r in results:
        assert r["sha"] == want.hexdigest()  # the same bytes as written
        assert r["Rss"] >= 0.9 * size  # each process sees the whole cache ...
        shared = r["Shared_Clean"] + r["Shared_Dirty"]  # dirty on tmpfs, clean on a disk
        assert shared >= 0.9 * size  # ... as pages shared with the other
        assert r["Private_Clean"] + r["Private_Dirty"] <= 0.1 * size
        assert r["Pss"] <= 0.6 * size  # its proportional share: about half of one copy
    assert sum(r["Pss"] for r in results) <= 1.1 * size  # one copy in RAM, not two


def test_ddp_training_reads_one_shared_cache(smoke_cfg, tmp_path):
    """Two DDP ranks (gloo, CPU): rank 0 decides and builds, rank 1 waits for the file; both
    train from it."""
    from vitst_utils.train import train

    cfg = smoke_cfg.replace(
        cache_images=True, cache_dir=str(tmp_path / "cache"), epochs=1, strategy="ddp"
    )
    result = train(cfg, tmp_path / "run")
    assert result.epochs_completed == 1
    made = sorted(p.name for p in (tmp_path / "cache").glob("*.u8"))
    assert [n.rsplit("-", 1)[0] for n in made] == ["content_train-64", "style_train-64"]
    log = (tmp_path / "run" / "train.log").read_text()
    assert "strategy ddp x2" in log and "MiB, shared" in log
