"""Evaluation: the domain classifier (vitst_utils.domain), structure, the weighted metrics
with weight files the tests write (random tensors in the libraries' own formats), and the CLI
on a smoke run.

Never downloads: weight files live in tmp_path, TORCH_HOME is a temp dir (conftest), and a
download attempt fails the test."""

import csv
import datetime
import io
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image
from torchvision.transforms.functional import pil_to_tensor

from vitst_utils import domain as D
from vitst_utils import evaluate as E
from vitst_utils import losses as L
from vitst_utils.checkpoint import save_checkpoint
from vitst_utils.config import TrainConfig, get_preset
from vitst_utils.data import load_image, scan_folder
from vitst_utils.function import gaussian_blur, normalize
from vitst_utils.model import build_model
from vitst_utils.sample_data import add_messy_files, make_sample_dataset

REPO = Path(__file__).resolve().parents[1]
_real_download = E._download


# --- fixtures: one data root, one classifier cache, one smoke run, one weights folder -----------
@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    """Synthetic AvatarAnime with junk in the classifier's train split and in `test`."""
    root = make_sample_dataset(tmp_path_factory.mktemp("eval") / "AvatarAnime", size=64)
    add_messy_files(root / "CelebA" / "train")
    add_messy_files(root / "AnimeFace" / "test")
    return root


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def clf(data_root, cache_dir) -> D.DomainClassifier:
    """Trained once, in the folder the CLI's default cache resolves to ($VITST_CACHE_DIR)."""
    return D.get_domain_classifier(data_root, cache_dir=cache_dir / "domain_classifier")


@pytest.fixture(autouse=True)
def _no_downloads(monkeypatch, cache_dir):
    def refuse(*args, **kwargs):
        raise AssertionError("a test tried to download weights")

    monkeypatch.setattr(E, "_download", refuse)
    monkeypatch.setenv(D.CACHE_ENV, str(cache_dir))  # the CLI shares the trained classifier


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory, data_root) -> Path:
    """A run folder as `train --preset smoke` leaves it (config.json, checkpoints/epoch_XXX.pt),
    written directly: untrained weights, no training time."""
    run = tmp_path_factory.mktemp("runs") / "smoke"
    cfg = get_preset("smoke", data_root=str(data_root))
    run.mkdir()
    cfg.to_json(run / "config.json")
    torch.manual_seed(0)
    model = build_model(cfg, use_weights=False)
    for epoch in (1, 2):
        save_checkpoint(run / "checkpoints" / f"epoch_{epoch:03d}.pt", model, cfg, epoch)
        with torch.no_grad():
            model.decoder[-2].bias.add_(0.3)  # epoch 2 differs from epoch 1
    return run


def _fake_inception_state() -> dict[str, torch.Tensor]:
    """torch-fidelity's InceptionV3 keys and shapes, random He-normal convs (features neither
    vanish nor explode, so FID is meaningful), BatchNorm at identity."""
    import torch_fidelity.feature_extractor_inceptionv3 as fi

    class Shapes(fi.FeatureExtractorInceptionV3):
        def load_state_dict(self, *args, **kwargs):  # the template needs no weights
            return None

    real_loader = fi.load_state_dict_from_url
    fi.load_state_dict_from_url = lambda *a, **k: {}
    try:
        template = Shapes("inception-v3-compat", ["2048"]).state_dict()
    finally:
        fi.load_state_dict_from_url = real_loader
    g = torch.Generator().manual_seed(0)
    state = {}
    for key, value in template.items():
        if key.endswith("conv.weight"):
            fan_in = value[0].numel()
            value = torch.randn(value.shape, generator=g) * math.sqrt(2 / fan_in)
        elif key == "fc.weight":
            value = torch.randn(value.shape, generator=g) * 0.01
        state[key] = value.clone()
    return state


@pytest.fixture
def small_inception(monkeypatch):
    """Inception resizes every image to 299 px (about 6 GFLOPs each, slow on a 2-core CPU);
    the tests run the same loader and network at its smallest input, 75 px."""
    from torchmetrics.image.fid import NoTrainInceptionV3

    monkeypatch.setattr(NoTrainInceptionV3, "INPUT_IMAGE_SIZE", 75)


def _fake_sface(path: Path) -> None:
    """An ONNX model with SFace's input (1, 3, 112, 112) and output (1, 128), which OpenCV's
    FaceRecognizerSF runs as it runs SFace: the embedding of the crop's mean colour."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = np.random.default_rng(0).normal(size=(3, 128)).astype(np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("GlobalAveragePool", ["data"], ["pool"]),
            helper.make_node("Flatten", ["pool"], ["flat"]),
            helper.make_node("MatMul", ["flat", "w"], ["fc1"]),
        ],
        "tiny_sface",
        [helper.make_tensor_value_info("data", TensorProto.FLOAT, [1, 3, 112, 112])],
        [helper.make_tensor_value_info("fc1", TensorProto.FLOAT, [1, 128])],
        [numpy_helper.from_array(w, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)])
    model.ir_version = 7
    onnx.save(model, path)


@pytest.fixture(scope="module")
def weights_dir(tmp_path_factory) -> Path:
    """The three weight files under their canonical names, in the libraries' own formats."""
    from torchvision.models import alexnet

    folder = tmp_path_factory.mktemp("weights")
    torch.save(_fake_inception_state(), folder / E.INCEPTION.name)
    torch.manual_seed(0)
    torch.save(alexnet(weights=None).state_dict(), folder / E.ALEXNET.name)
    _fake_sface(folder / E.SFACE.name)
    return folder


def _pixels(n: int, seed: int, size: int = 32) -> torch.Tensor:
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(seed))


def _images(folder: Path, size: int = 64) -> torch.Tensor:
    """The folder's drawn faces (not the messy files) as [0, 1] pixels, size x size."""
    paths = sorted(folder.glob(f"{folder.parent.name.lower()}_*"))
    return torch.cat([D.square_resize(_tensor(load_image(p)), size) for p in paths])


def _tensor(im: Image.Image) -> torch.Tensor:
    return pil_to_tensor(im.convert("RGB"))[None].float() / 255


# --- the domain classifier ---------------------------------------------------------------------
def test_classifier_separates_the_domains_on_held_out_images(clf, data_root):
    assert clf.heldout_accuracy >= 0.85 and clf.heldout_source == "the val split"
    usable, skipped = scan_folder(data_root / "CelebA" / "train")
    assert skipped and clf.n_train == (len(usable), 8)  # junk skipped, odd-mode images kept
    photos = _images(data_root / "CelebA" / "test")
    anime = _images(data_root / "AnimeFace" / "test", 100)  # any size: resized inside
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
    anime = _images(data_root / "AnimeFace" / "val")
    photos = _images(data_root / "CelebA" / "val")
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
        return _tensor(Image.open(io.BytesIO(buf.getvalue())))

    anime = sorted((data_root / "AnimeFace" / "val").glob("*.png"))
    photos = sorted((data_root / "CelebA" / "val").glob("*.jpg"))
    p_anime = torch.cat([clf.prob_pixels(reencode(p, "JPEG")) for p in anime])
    p_photo = torch.cat([clf.prob_pixels(reencode(p, "PNG")) for p in photos])
    assert (p_anime > 0.5).all() and (p_photo < 0.5).all()
    wide = _tensor(Image.open(photos[0]).resize((120, 64)))
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
    x = _pixels(3, 0, 64)
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


# --- weighted metrics --------------------------------------------------------------------------
def test_weight_urls_match_the_libraries():
    from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3
    from torchvision.models import AlexNet_Weights

    assert E.INCEPTION.url == URL_INCEPTION_V3 and E.INCEPTION.url.endswith(E.INCEPTION.name)
    assert E.ALEXNET.url == AlexNet_Weights.IMAGENET1K_V1.url
    assert E.SFACE.url.endswith("/face_recognition_sface/" + E.SFACE.name)


def test_weighted_metrics_from_written_weight_files(weights_dir, small_inception):
    nets = E.load_metric_nets(weights_dir)
    assert nets.unavailable == {} and nets.inception is not None and nets.lpips is not None
    assert nets.face is not None
    x, y = _pixels(3, 1, 64), _pixels(3, 2, 64) * torch.tensor([1.0, 0.2, 0.5]).view(1, 3, 1, 1)
    assert nets.face.similarity(x, x) == pytest.approx(1.0, abs=1e-5)
    assert nets.face.similarity(x, y) < 0.999
    a, b = _pixels(4, 1), _pixels(4, 2) * 0.3
    fa, fb = E.inception_features(nets.inception, a), E.inception_features(nets.inception, b)
    assert fa.shape == (4, 2048)
    fid_self, kid_self = E.fid_kid(fa, fa)
    fid_other, kid_other = E.fid_kid(fa, fb)
    assert abs(fid_self) < 1e-3 and abs(kid_self) < 1e-2
    assert fid_other > 0.1 and fid_other > 100 * abs(fid_self) and kid_other > kid_self
    assert E.lpips_score(nets.lpips, a, a) == pytest.approx(0.0, abs=1e-6)
    assert E.lpips_score(nets.lpips, a, b) > 0.01


@pytest.mark.parametrize("n", [12, 100])  # fewer and more images than feature dimensions
def test_fid_is_torchmetrics_fid(n):
    from torchmetrics.image.fid import FrechetInceptionDistance

    g = torch.Generator().manual_seed(n)
    real = torch.randn(n, 64, generator=g)
    fake = torch.randn(n + 3, 64, generator=g) * 1.5 + 0.2
    reference = FrechetInceptionDistance(feature=E._Features(64))
    reference.update(real, real=True)
    reference.update(fake, real=False)
    assert E.frechet_distance(real, fake) == pytest.approx(float(reference.compute()), rel=1e-4)
    assert E.frechet_distance(real, real) == pytest.approx(0.0, abs=1e-6)


def test_offline_without_files_is_not_available_with_the_reason(tmp_path):
    nets = E.load_metric_nets(tmp_path)  # empty weights dir, empty TORCH_HOME, offline
    assert nets.inception is None and nets.lpips is None and nets.face is None
    assert set(nets.unavailable) == {"fid", "kid", "lpips", "art_fid", "identity_cos"}
    assert E.SFACE.name in nets.unavailable["identity_cos"]
    assert E.INCEPTION.name in nets.unavailable["fid"] and "offline" in nets.unavailable["fid"]
    assert (
        E.ALEXNET.name in nets.unavailable["lpips"] and str(tmp_path) in nets.unavailable["lpips"]
    )


def test_weight_files_found_in_the_hub_cache_and_downloaded_online(
    tmp_path, weights_dir, monkeypatch
):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    cache = E.hub_cache_dir()
    assert cache == tmp_path / "torch" / "hub" / "checkpoints"
    with pytest.raises(E.WeightsUnavailable, match="offline"):
        E.find_weights(E.ALEXNET)
    cache.mkdir(parents=True)
    (cache / E.ALEXNET.name).symlink_to(weights_dir / E.ALEXNET.name)
    assert E.find_weights(E.ALEXNET) == cache / E.ALEXNET.name

    # online: a download (here from a file:// URL) lands in the cache; a bad hash is refused
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("VITST_OFFLINE", "0")
    monkeypatch.setattr(E, "_download", _real_download)
    source = (weights_dir / E.INCEPTION.name).as_uri()
    spec = E.WeightFile(E.INCEPTION.name, source, "test")
    assert E.find_weights(spec) == cache / E.INCEPTION.name
    assert (cache / E.INCEPTION.name).stat().st_size == (
        weights_dir / E.INCEPTION.name
    ).stat().st_size
    bad = E.WeightFile("model-0123abcd.pth", source, "test", sha256_prefix="0123abcd")
    with pytest.raises(E.WeightsUnavailable, match="sha256"):
        E.find_weights(bad)
    assert not (cache / "model-0123abcd.pth").exists()


def test_weight_files_with_code_or_wrong_keys_are_refused(tmp_path):
    torch.save({"when": datetime.date(2020, 1, 1)}, tmp_path / E.INCEPTION.name)
    torch.save({"features.0.weight": torch.zeros(1)}, tmp_path / E.ALEXNET.name)
    (tmp_path / E.SFACE.name).write_bytes(b"not an onnx model")
    nets = E.load_metric_nets(tmp_path)
    assert "weights_only" in nets.unavailable["fid"]
    assert "not a torchvision AlexNet state dict" in nets.unavailable["lpips"]
    assert "not an SFace ONNX model" in nets.unavailable["identity_cos"]


# --- the evaluation ----------------------------------------------------------------------------
def test_evaluate_runs_with_weights(
    smoke_run, data_root, clf, weights_dir, tmp_path, small_inception
):
    result = E.evaluate_runs(
        [smoke_run],
        data_root=data_root,
        limit=3,
        out=tmp_path / "out",
        device="cpu",
        weights_dir=weights_dir,
        max_checkpoints=1,
    )
    assert result.unavailable == {} and result.problems == [] and result.pairs == 3
    photo, anime, last = result.table
    assert (photo["run"], anime["run"], last["epoch"]) == ("photo", "anime", 2)
    assert anime["fid"] == pytest.approx(0.0, abs=1e-3) and photo["fid"] > 1.0
    assert photo["lpips"] == pytest.approx(0.0, abs=1e-6) and photo["structure"] > 0.99
    assert photo["identity_cos"] == pytest.approx(1.0, abs=1e-5) and photo["identity_top1"] == 1
    for row in result.table:
        assert row["art_fid"] == pytest.approx((1 + row["lpips"]) * (1 + row["fid"]))
    assert photo["content_loss"] is None and last["content_loss"] > 0


def test_losses_are_named_and_weighted_as_in_training(smoke_run, data_root, clf, tmp_path):
    """Each term as history.csv names it and `rec_loss`, the recipe's weighted sum of them (the
    same function as training's); no `total_loss` (it needs the discriminator). A checkpoint
    written before issue 19 is scored in the VGG19 it carries."""
    new = smoke_run / "checkpoints" / "epoch_001.pt"
    raw = torch.load(new, weights_only=True)
    cfg = TrainConfig.from_dict(raw["config"])
    files = []
    for name, vgg in (("same", L.loss_net(cfg)), ("other", L.loss_net(cfg.replace(seed=9)))):
        carried = {f"vgg_loss_net.{k}": v for k, v in vgg.state_dict().items()}
        torch.save({**raw, "model": {**raw["model"], **carried}}, tmp_path / f"{name}.pt")
        files.append(tmp_path / f"{name}.pt")
    result = E.evaluate_runs(
        checkpoints=[new, *files], data_root=data_root, limit=3, out=tmp_path / "out"
    )
    assert "rec_loss" in result.columns and "total_loss" not in result.columns
    own, same, other = result.table[2:]
    assert own["rec_loss"] == pytest.approx(
        cfg.lambda_content * own["content_loss"] + cfg.lambda_style * own["style_loss"]
    )
    assert same["content_loss"] == pytest.approx(own["content_loss"])  # the config's VGG19
    assert other["content_loss"] != pytest.approx(own["content_loss"])  # the carried one


def _run_cli(*args: str, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), **(env_extra or {})}
    return subprocess.run(
        [sys.executable, "-m", "vitst_utils.evaluate", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=REPO,
    )


def test_cli_on_a_smoke_run_end_to_end(smoke_run, clf, data_root, tmp_path):
    done = _run_cli("--run", str(smoke_run), "--device", "cpu")
    assert done.returncode == 0, done.stderr
    out = smoke_run / "evaluation"
    with open(out / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["run"] for r in rows] == ["photo", "anime", "smoke", "smoke"]
    assert list(rows[0])[:4] == ["run", "checkpoint", "epoch", "preset"]
    assert [r["epoch"] for r in rows] == ["", "", "1", "2"]
    for r in rows:
        assert 0 <= float(r["domain_score"]) <= 1 and float(r["structure"]) <= 1.0001
        assert r["fid"] == r["kid"] == r["lpips"] == r["art_fid"] == "n/a"  # offline, no files
    assert float(rows[0]["domain_score"]) < 0.2 and float(rows[1]["domain_score"]) > 0.8
    assert rows[0]["content_loss"] == "" and float(rows[2]["content_loss"]) > 0
    meta = json.loads((out / "metrics.json").read_text())
    assert meta["synthetic"] and meta["split"] == "val" and meta["pairs"] == 4
    assert (
        "offline" in meta["unavailable"]["fid"] and meta["classifier"]["heldout_accuracy"] >= 0.85
    )
    assert (out / "metrics.png").stat().st_size > 0
    assert "not available" in done.stdout and "held-out balanced accuracy" in done.stdout


def test_cli_bad_inputs_name_the_path_and_score_the_rest(
    smoke_run, data_root, clf, tmp_path, capsys
):
    empty = tmp_path / "empty_run"
    empty.mkdir()
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"\x00 truncated")
    lone = tmp_path / "lone.pt"
    lone.write_bytes((smoke_run / "checkpoints" / "epoch_001.pt").read_bytes())
    out = tmp_path / "out"
    code = E.main(
        [
            "--run",
            str(empty),
            str(smoke_run),
            "--checkpoint",
            str(broken),
            str(lone),
            "--data-root",
            str(data_root),
            "--split",
            "test",
            "--limit",
            "3",
            "--out",
            str(out),
            "--max-checkpoints",
            "1",
        ]
    )
    captured = capsys.readouterr()
    assert code == 1
    assert f"{empty}: no checkpoints" in captured.out
    assert f"problem: {broken}" in captured.out  # checkpoint.py's own words follow
    assert "Skipped" in captured.err and "AnimeFace/test" in captured.err  # junk reported
    rows = json.loads((out / "metrics.json").read_text())["rows"]
    assert [(r["run"], r["checkpoint"], r["epoch"]) for r in rows] == [
        ("photo", "baseline", None),
        ("anime", "baseline", None),
        ("smoke", "epoch_002.pt", 2),
        ("lone", "lone.pt", 1),
    ]

    assert E.main(["--run", str(smoke_run), "--data-root", str(data_root), "--split", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "CelebA/nope" in err and "Traceback" not in err
    assert E.main(["--split", "val"]) == 2 and "error: give --run" in capsys.readouterr().err
    missing = tmp_path / "missing"
    assert E.main(["--run", str(smoke_run), "--weights-dir", str(missing)]) == 2
    assert str(missing) in capsys.readouterr().err


def test_metrics_figure_lines_per_run_and_baselines():
    table = [
        {"run": "photo", "checkpoint": "baseline", "epoch": None, "domain_score": 0.02},
        {"run": "anime", "checkpoint": "baseline", "epoch": None, "domain_score": 0.97},
        {"run": "seed", "checkpoint": "epoch_001.pt", "epoch": 1, "domain_score": 0.1},
        {"run": "seed", "checkpoint": "epoch_002.pt", "epoch": 2, "domain_score": 0.2},
        {"run": "anime_run", "checkpoint": "epoch_002.pt", "epoch": 2, "domain_score": 0.6},
        {"run": "old", "checkpoint": "seed.pth", "epoch": None, "domain_score": 0.3},
    ]
    fig = E.plot_metrics(
        table,
        {"fid": "because"},
        {"heldout_accuracy": 0.99},
        "SYNTHETIC x",
        metrics=("domain_score", "fid"),
    )
    ax = fig.axes[0]
    labels = ax.get_legend_handles_labels()[1]
    assert labels == ["seed", "anime_run", "old (seed.pth)", "photo", "anime"]
    assert [len(line.get_xdata()) for line in ax.lines[:2]] == [2, 1]
    assert "held-out accuracy 0.99" in ax.get_title()
    suptitle = fig.get_suptitle()
    assert "SYNTHETIC" in suptitle and "not available: fid" in suptitle


# --- folders of pictures made elsewhere ---------------------------------------------------------
def test_pairing_by_name_then_by_order(tmp_path):
    photos = [Path(f"/data/val/face_{i}.jpg") for i in (1, 2, 3)]
    named = tmp_path / "named"
    named.mkdir()
    for name in ("face_1_x_anime.png", "face_1.png", "face_3-out.jpg", "face_33.png", ".x.png"):
        (named / name).write_bytes(b"")
    pairs, problems = E.pair_image_folder(named, photos)
    assert pairs == [(0, named / "face_1.png"), (2, named / "face_3-out.jpg")]
    assert problems == [f"{named}: no picture named after face_2.jpg"]

    ordered = tmp_path / "ordered"
    ordered.mkdir()
    for name in ("b.png", "a.png"):
        (ordered / name).write_bytes(b"")
    pairs, problems = E.pair_image_folder(ordered, photos)
    assert pairs == [(0, ordered / "a.png"), (1, ordered / "b.png")]
    assert "2 files for 3 photos: paired the first 2 by sorted order" in problems[0]
    assert E.pair_image_folder(tmp_path / "nope", photos)[1] == [
        f"{tmp_path / 'nope'}: image folder not found"
    ]


def test_cli_scores_folders_of_stylised_images_and_names_the_bad_ones(
    data_root, clf, tmp_path, capsys
):
    """Another tool's outputs in the same table: the photos themselves (a perfect keep), the
    anime faces (an unrelated pairing), and a folder with a missing and an unreadable file."""
    photos = sorted((data_root / "CelebA" / "val").glob("celeba_*.jpg"))
    anime = sorted((data_root / "AnimeFace" / "val").glob("animeface_*.png"))
    same, other, broken = tmp_path / "same", tmp_path / "other", tmp_path / "broken"
    for folder in (same, other, broken):
        folder.mkdir()
    for p in photos:
        load_image(p).save(same / f"{p.stem}_x_anime.png")
    for p, a in zip(photos, anime, strict=True):
        load_image(a).save(other / f"{p.stem}.png")
    for p in photos[1:]:
        load_image(p).save(broken / f"{p.stem}.png")
    (broken / f"{photos[1].stem}.png").write_bytes(b"\x89PNG truncated")
    out = tmp_path / "out"
    argv = ["--images", str(same), str(other), str(broken), "--data-root", str(data_root)]
    code = E.main([*argv, "--out", str(out), "--metric-size", "64"])
    captured = capsys.readouterr()
    assert code == 1  # problems were named, the rest scored
    assert f"{broken}: no picture named after {photos[0].name}" in captured.out
    assert f"{broken / photos[1].stem}.png: unreadable" in captured.out
    rows = {r["run"]: r for r in json.loads((out / "metrics.json").read_text())["rows"]}
    assert rows["same"]["checkpoint"] == "images" and rows["same"]["structure"] > 0.99
    assert rows["same"]["identity_top1"] == 1.0 and rows["same"]["domain_score"] < 0.2
    assert rows["other"]["domain_score"] > 0.8 and rows["other"]["structure"] < 0.5
    assert rows["broken"]["pairs"] == len(photos) - 2 and rows["broken"]["structure"] > 0.99
