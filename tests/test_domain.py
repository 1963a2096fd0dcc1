"""The photo-vs-anime domain classifier (domain.py): it separates the domains on held-out
images, calls noise, checkerboards and blurred anime "not anime", ignores file format and aspect,
and is cached and retrained when damaged."""

import io
from pathlib import Path

import pytest
import torch
from eval_helpers import images, pixels, tensor
from PIL import Image

from vitst_utils import domain as D
from vitst_utils.data import scan_folder
from vitst_utils.function import gaussian_blur, normalize


def test_classifier_separates_the_domains_on_held_out_images(clf, data_root):
    assert clf.heldout_accuracy >= 0.85 and clf.heldout_source == "the val split"
    usable, skipped = scan_folder(data_root / "CelebA" / "train")
    assert skipped and clf.n_train == (len(usable), 8)  # junk skipped, odd-mode images kept
    photos = images(data_root / "CelebA" / "test")
    anime = images(data_root / "AnimeFace" / "test", 100)  # any size: resized inside
    p_photo = clf.prob_anime(normalize(photos))
    p_anime = clf.prob_anime(normalize(anime))
    assert p_photo.shape == (len(photos),) and p_anime.shape == (len(anime),)
    assert p_photo.mean() < 0.2 and p_anime.mean() > 0.8
    # noise and a checkerboard (an untrained decoder's output) are neither: not "anime"
    g = torch.Generator().manual_seed(0)
    noise = torch.rand(4, 3, 64, 64, generator=g)
    board = ((torch.arange(64)[:, None] // 2 + torch.arange(64) // 2) % 2).float()
    board = board.expand(4, 3, 64, 64) * torch.rand(4, 3, 1, 1, generator=g)
    p_junk = clf.prob_anime(normalize(torch.cat([noise, board])))
    assert p_junk.mean() < 0.15 and p_junk.max() < 0.5


def test_classifier_says_blurred_anime_is_not_anime(clf, data_root):
    """Smooth is not drawn: blurred and edge-smoothed anime faces (what an under-trained decoder
    paints) score low, the sharp ones high; blurred photos stay photos."""
    anime = images(data_root / "AnimeFace" / "val")
    photos = images(data_root / "CelebA" / "val")
    assert clf.prob_pixels(anime).mean() > 0.8
    for sigma in (1.5, 2.5):  # px at 64 px (the classifier's size): a visible blur
        assert clf.prob_pixels(gaussian_blur(anime, sigma)).mean() < 0.2
    assert clf.prob_pixels(gaussian_blur(anime, 1.0)).mean() < 0.5
    assert clf.prob_pixels(gaussian_blur(photos, 1.5)).max() < 0.5
    assert clf.heldout_blurred_anime < 0.2 and "blurred held-out anime" in clf.summary()


def test_classifier_does_not_key_on_jpeg_or_aspect(clf, data_root):
    """Anime faces saved as JPEG stay anime, photos saved as PNG stay photos, and a non-square
    crop of the same image does not flip the verdict."""

    def reencode(path: Path, fmt: str) -> torch.Tensor:
        buf = io.BytesIO()
        Image.open(path).convert("RGB").save(buf, fmt, quality=75)
        return tensor(Image.open(io.BytesIO(buf.getvalue())))

    anime = sorted((data_root / "AnimeFace" / "val").glob("*.png"))
    photos = sorted((data_root / "CelebA" / "val").glob("*.jpg"))
    p_anime = torch.cat([clf.prob_pixels(reencode(p, "JPEG")) for p in anime])
    p_photo = torch.cat([clf.prob_pixels(reencode(p, "PNG")) for p in photos])
    assert (p_anime > 0.5).all() and (p_photo < 0.5).all()
    wide = tensor(Image.open(photos[0]).resize((120, 64)))
    assert clf.prob_pixels(wide)[0] < 0.5


def test_classifier_cache_is_reused_and_a_corrupt_one_retrained(
    clf, data_root, cache_dir, monkeypatch
):
    folder = cache_dir / "domain_classifier"
    files = list(folder.glob("domain_*.pt"))
    assert len(files) == 1
    calls = []

    def counting(*args, **kwargs):
        calls.append(1)
        return clf

    monkeypatch.setattr(D, "train_domain_classifier", counting)
    again = D.get_domain_classifier(data_root, cache_dir=folder)
    assert calls == [] and again.heldout_accuracy == clf.heldout_accuracy
    x = pixels(3, 0, 64)
    assert torch.allclose(again.prob_pixels(x), clf.prob_pixels(x))
    assert D.get_domain_classifier(data_root, cache_dir=folder, image_size=32) is clf  # new key
    assert calls == [1]

    other = cache_dir / "corrupt"
    other.mkdir()
    (other / files[0].name).write_bytes(b"not a checkpoint")
    assert D.get_domain_classifier(data_root, cache_dir=other) is clf  # retrained
    assert calls == [1, 1]
    saved = torch.load(other / files[0].name, weights_only=True)
    assert saved["format"] == D.CLASSIFIER_FORMAT  # the corrupt file was replaced


def test_classifier_heldout_without_val_split_is_every_fifth_train_image():
    paths = [Path(f"{i:02d}.png") for i in range(10)]
    assert D._split_heldout(paths) == (paths[:4] + paths[5:9], [paths[4], paths[9]])
    assert D._split_heldout(paths[:2]) == ([paths[0]], [paths[1]])  # at least one each


def test_classifier_without_train_split_says_which_folder(tmp_path):
    (tmp_path / "CelebA" / "val").mkdir(parents=True)
    (tmp_path / "AnimeFace" / "val").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match=r"CelebA/train"):
        D.get_domain_classifier(tmp_path, cache_dir=tmp_path / "cache")
