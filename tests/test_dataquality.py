"""Data quality: planted copies, a leak and outliers are found; the exclude list reaches
training; the pair search equals brute force; the hash cache; clear errors."""

import csv
import inspect
import json
import logging
import shutil
import subprocess
import sys
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from vitst_utils import copies as C
from vitst_utils import dataquality as Q
from vitst_utils import domain, explore, train
from vitst_utils import quality_report as QR
from vitst_utils.data import build_datasets, file_sha256, read_exclude_file
from vitst_utils.plots import Figure, image_grid
from vitst_utils.presets import get_preset
from vitst_utils.sample_data import draw_anime_face, make_sample_dataset

REPO = Path(__file__).resolve().parents[1]


def _copy(root: Path, src: str, dst: str, how: str, seed: int, **save) -> str:
    im = Image.open(root / src).convert("RGB")
    C.make_copy(im, how, np.random.default_rng(seed)).save(root / dst, **save)
    return dst


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """Synthetic data with planted near-copies (resized, JPEG re-encoded, cropped a little),
    leaks across splits, a near-uniform image, and an anime face among the photos.
    Copies are named to sort right after their original, within the smoke preset's limits."""
    root = make_sample_dataset(
        tmp_path_factory.mktemp("dq") / "AvatarAnime", {"train": 12, "val": 6, "test": 6}, size=96
    )
    c, a = "CelebA/train/celeba_train_", "AnimeFace/train/animeface_train_"
    expected = {
        _copy(root, f"{c}00000.jpg", f"{c}00000_resized.jpg", "resize", 1, quality=90): "duplicate",
        _copy(root, f"{c}00001.jpg", f"{c}00001_jpeg.jpg", "jpeg", 2, quality=90): "duplicate",
        _copy(root, f"{c}00002.jpg", f"{c}00002_crop.png", "crop", 3): "duplicate",
        _copy(root, f"{a}00000.png", f"{a}00000_resized.png", "resize", 4): "duplicate",
        _copy(root, f"{a}00001.png", f"{a}00001_jpeg.jpg", "jpeg", 5): "duplicate",
        _copy(root, f"{a}00002.png", f"{a}00002_crop.png", "crop", 6): "duplicate",
        # a training image in val (re-encoded), another in test (cropped and resized)
        _copy(root, f"{c}00003.jpg", "CelebA/val/celeba_leak.jpg", "all", 7): "leak",
        _copy(root, f"{a}00003.png", "AnimeFace/test/animeface_leak.png", "all", 8): "leak",
    }
    noise = np.random.default_rng(0).integers(-1, 2, (96, 96, 3))
    uniform = Image.fromarray((128 + noise).astype(np.uint8))
    uniform.save(root / f"{c}00004_uniform.png")
    expected[f"{c}00004_uniform.png"] = "uniform"
    # anime faces among the photos: in test, and in train (where the classifier learns it)
    draw_anime_face(np.random.default_rng(99), 96).save(root / "CelebA/test/celeba_test_anime.png")
    draw_anime_face(np.random.default_rng(98), 96).save(root / f"{c}00005_anime.png")
    return root, expected


@pytest.fixture(scope="module")
def report(planted):
    return Q.check_data(planted[0], classifier=False, progress=False)


def _flagged(report) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for i in report.issues:
        out.setdefault(i.file, set()).add(i.kind)
    return out


def test_planted_cases_are_found_with_no_false_flags(planted, report):
    root, expected = planted
    assert set(report.exclude) == set(expected)  # nothing else: no false flags
    assert _flagged(report) == {f: {k} for f, k in expected.items()}
    assert sum(report.images.values()) == 12 * 2 + 6 * 4 + len(expected) + 2
    for issue in report.of_kind("duplicate", "leak"):  # the later name / the val-test one
        assert issue.excluded and issue.other is not None
        assert issue.other.split("/")[-2] == "train"
        assert issue.other < issue.file if issue.kind == "duplicate" else issue.split != "train"
        assert f"of {issue.other}, distance " in issue.detail and issue.detail.endswith("excluded")
    leak = next(i for i in report.issues if i.file == "AnimeFace/test/animeface_leak.png")
    assert leak.kind == "leak" and leak.split == "test"
    assert leak.other == "AnimeFace/train/animeface_train_00003.png"


def test_outputs_round_trip_into_a_smoke_training_run(planted, tmp_path, capsys, caplog):
    """CLI -> data_quality.csv + exclude.txt -> training leaves the files out and says so."""
    root, expected = planted
    out = tmp_path / "dq"
    args = ["--data-root", str(root), "--out", str(out), "--no-classifier", "--workers", "1"]
    assert Q.main(args) == 0
    printed = capsys.readouterr().out
    assert "9 files to leave out" in printed and f"exclude_file={out / 'exclude.txt'}" in printed
    with open(out / "data_quality.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert tuple(rows[0]) == QR.CSV_COLUMNS
    assert {r[2] for r in rows[1:]} == set(expected)
    text = (out / "exclude.txt").read_text()
    assert text.startswith("# Exclude list written by vitst_utils.dataquality")
    assert f"pHash Hamming distance <= {C.DEFAULT_THRESHOLD}" in text
    assert "--set exclude_file=" in text
    listed = read_exclude_file(out / "exclude.txt")
    assert sorted(listed) == sorted(expected)

    cfg = get_preset("smoke", data_root=str(root), exclude_file=str(out / "exclude.txt"), epochs=1)
    run = tmp_path / "run"
    caplog.set_level(logging.INFO, logger="vitst_utils.train")  # as the CLI's basicConfig does
    train.train(cfg, run)
    sha = file_sha256(out / "exclude.txt")
    n_out = sum(1 for f in expected if f.split("/")[1] in ("train", "val"))
    assert f"(sha256 {sha}): left out {n_out} files" in (run / "train.log").read_text()
    assert json.loads((run / "config.json").read_text())["exclude_sha256"] == sha
    used = {
        p.relative_to(root).as_posix()
        for ds in build_datasets(cfg, root).values()
        for p in ds.files
    }
    assert not used & set(expected)
    base = build_datasets(get_preset("smoke", data_root=str(root)), root)  # without the list
    assert {p.relative_to(root).as_posix() for ds in base.values() for p in ds.files} & set(
        expected
    )


def test_worker_processes_agree(planted, report, monkeypatch):
    monkeypatch.setattr(C, "POOL_MIN", 1)
    pooled = Q.check_data(planted[0], classifier=False, workers=2, progress=False)
    assert pooled.issues == report.issues and pooled.hashed == report.hashed


def test_hash_cache_round_trip(planted, tmp_path, caplog):
    root = planted[0]
    check = partial(
        Q.check_data, root, limit=3, cache_dir=tmp_path, classifier=False, progress=False
    )
    first = check()
    assert first.hashed == 18 and first.cached == 0 and (tmp_path / C.CACHE_NAME).is_file()
    again = check()
    assert again.hashed == 0 and again.cached == 18 and again.issues == first.issues
    (tmp_path / C.CACHE_NAME).write_bytes(b"not a cache")
    with caplog.at_level(logging.WARNING):
        rebuilt = check()
    assert "Ignoring the hash cache" in caplog.text and rebuilt.hashed == 18
    assert rebuilt.issues == first.issues
    rel = "CelebA/train/celeba_train_00000.jpg"
    m = C.measure_image(root / rel)
    entry = C.HashCache(tmp_path / C.CACHE_NAME, root).get(rel, C._fingerprint(root / rel), False)
    assert entry is not None and entry[0].phash == m.phash
    assert np.array_equal(entry[0].thumb, m.thumb)
    assert C.HashCache(tmp_path / C.CACHE_NAME, tmp_path).entries == {}  # another root: unused


def test_errors_name_the_folder(planted, tmp_path, capsys):
    with pytest.raises(FileNotFoundError, match="data root not found"):
        Q.check_data(tmp_path / "nope")
    root = tmp_path / "AvatarAnime"
    shutil.copytree(planted[0], root)
    shutil.rmtree(root / "AnimeFace" / "test")
    with pytest.raises(FileNotFoundError, match=r"split folder missing: .*AnimeFace/test"):
        Q.check_data(root, classifier=False)
    (root / "AnimeFace" / "test").mkdir()
    (root / "AnimeFace" / "test" / "notes.txt").write_text("no image")
    with pytest.raises(ValueError, match=r"empty split: no image file in .*AnimeFace/test"):
        Q.check_data(root, classifier=False)
    (root / "AnimeFace" / "test" / "broken.png").write_bytes(b"junk")
    with pytest.raises(ValueError, match=r"no readable image in .*AnimeFace/test"):
        Q.check_data(root, classifier=False, progress=False)
    with pytest.raises(ValueError, match="unknown kinds"):
        Q.check_data(planted[0], exclude_kinds=["dupes"])
    with pytest.raises(ValueError, match="unreadable files cannot be excluded"):
        Q.check_data(planted[0], exclude_kinds=["duplicate", "unreadable"])
    assert Q.main(["--data-root", str(root), "--out", str(tmp_path / "o"), "--no-classifier"]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("error: no readable image in ") and "broken.png" in err
    proc = subprocess.run(
        [sys.executable, "-m", "vitst_utils.dataquality", "--data-root", str(tmp_path / "nope")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert proc.stderr.startswith("error: Data root ") and "nope" in proc.stderr


def test_outlier_kinds_and_what_is_excluded():
    thumb = np.zeros(C.THUMB_SIDE**2 * 3, np.uint8)

    def kinds(domain, w, h, std=0.2, spread=0.2, p=float("nan")):
        m = C.Measurement(0, thumb, w, h, std, spread)
        return {
            (i.kind, i.excluded)
            for i in Q._outlier_issues(domain, "train", "x", m, p, Q.EXCLUDED_KINDS)
        }

    assert kinds("CelebA", 178, 218) == set()
    assert kinds("CelebA", 178, 218, std=0.005) == {("uniform", True)}
    assert kinds("CelebA", 40, 90) == {("small", True), ("aspect", True)}
    assert kinds("CelebA", 5000, 4000) == {("huge", False)}
    assert kinds("AnimeFace", 128, 128, spread=0.001) == {("grayscale", False)}
    assert kinds("CelebA", 128, 128, p=0.99) == {("other_domain", False)}
    assert kinds("AnimeFace", 128, 128, p=0.01) == {("other_domain", False)}
    assert kinds("AnimeFace", 128, 128, p=0.5) == set()


class _Vivid(nn.Module):
    """A stand-in photo-vs-anime net: anime faces have large vivid areas, the photos do not."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x in [-1, 1]
        vivid = ((x.amax(1) - x.amin(1)) > 1.0).float().mean((1, 2))
        anime = 200 * (vivid - 0.1)  # logits: photo 0, anime, neither never
        return torch.stack([torch.zeros_like(anime), anime, torch.full_like(anime, -1e4)], 1)


@pytest.mark.parametrize("accuracy", [0.97, 0.6])
def test_domain_classifier_outliers(planted, tmp_path, monkeypatch, accuracy):
    """The real DomainClassifier class around a stand-in net (training one takes ~15 s)."""
    calls = []

    def fake(root, **kwargs):
        calls.append(kwargs)
        return domain.DomainClassifier(_Vivid(), 64, accuracy, (9, 9), (4, 4), "the val split")

    inspect.signature(domain.get_domain_classifier).bind(
        planted[0], train_limit=2000, cache_dir=tmp_path, device="cpu"
    )  # the call dataquality makes fits the real function
    monkeypatch.setattr(domain, "get_domain_classifier", fake)
    rep = Q.check_data(planted[0], cache_dir=tmp_path, device="cpu", progress=False)
    assert calls == [{"train_limit": 2000, "cache_dir": tmp_path, "device": "cpu"}]
    other = {i.file for i in rep.of_kind("other_domain")}
    if accuracy >= Q.MIN_CLASSIFIER_ACCURACY:
        assert other == {"CelebA/test/celeba_test_anime.png"}  # not the one it trained on
        assert "the first 2000 readable train images" in "\n".join(rep.notes)
        assert not any(i.excluded for i in rep.of_kind("other_domain"))
        assert "held-out balanced accuracy 0.970" in "\n".join(rep.notes)
        again = Q.check_data(planted[0], cache_dir=tmp_path, device="cpu", progress=False)
        assert again.hashed == 0 and again.issues == rep.issues  # P(anime) cached too
    else:
        assert not other and "accuracy 0.600 is under 0.9" in "\n".join(rep.notes)
    assert set(rep.exclude) == set(planted[1])


def test_notebook_figures_and_unlistable_names(planted, report, tmp_path):
    images, captions = explore.pair_examples(report, n=3)
    assert len(images) == len(captions) == 6 and captions[1].startswith("original: train/")
    assert captions[0].startswith("leak: ") and captions[2].startswith("duplicate: ")
    assert all("\nd=" in c for c in captions[1::2])
    assert isinstance(image_grid(images, captions, cols=4), Figure)
    images, captions = explore.outlier_examples(report)
    assert [c.split(":")[0] for c in captions] == ["uniform"]
    rows = {r["kind"]: r for r in report.kind_table()}
    assert rows["duplicate"]["total"] == 6 and rows["leak"]["training"] == "excluded"
    assert rows["images checked"]["training"] == "9 left out"
    odd = QR.Issue("CelebA", "train", "CelebA/train/a#b.jpg", "uniform", "x; excluded", True)
    rep = QR.QualityReport(
        report.root, [*report.issues, odd], report.images, 10, 10.0, ("uniform",)
    )
    _, path = QR.write_outputs(rep, tmp_path)
    assert (
        "# NOT listed (its name holds '#' or edge spaces): CelebA/train/a#b.jpg" in path.read_text()
    )
    assert "CelebA/train/a#b.jpg" not in read_exclude_file(path)
