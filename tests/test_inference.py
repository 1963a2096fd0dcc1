"""Stylising your own photos: whole frame at any size, the controls, prototypes, face crop,
batches, errors, and the installed CLI. Tiny smoke models with random weights: the tests check
sizes, identities and plumbing, never how anime the pictures look."""

import copy
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from vitst_utils import checkpoint as C
from vitst_utils import inference as I
from vitst_utils import losses as L
from vitst_utils.config import get_preset
from vitst_utils.data import load_image
from vitst_utils.face import FACE_SCALE, crop_face, face_crop_box, find_face
from vitst_utils.function import coral, rgb_to_ycbcr, to_pixels
from vitst_utils.inference import main
from vitst_utils.model import build_model
from vitst_utils.sample_data import draw_photo_face

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def cfg(sample_root):
    return get_preset("smoke", data_root=str(sample_root))


@pytest.fixture(scope="module")
def model(cfg):
    torch.manual_seed(0)
    return build_model(cfg, use_weights=False).eval()


@pytest.fixture(scope="module")
def styles(sample_root):
    return sorted((sample_root / "AnimeFace" / "test").iterdir())


@pytest.fixture(scope="module")
def prototype(model, styles):
    return I.build_prototype(model, styles[0].parent)


@pytest.fixture(scope="module")
def ckpt_with_prototype(cfg, model, prototype, tmp_path_factory):
    """A training-style checkpoint that stores its prototype, as train does."""
    torch.manual_seed(0)
    full = build_model(cfg)  # same seed: same ViT and decoder as `model`
    own = {k: prototype[k] for k in ("mean", "std", "count")}
    path = tmp_path_factory.mktemp("ck") / "with_proto.pt"
    return C.save_checkpoint(path, full, cfg, epoch=1, prototype=own)


@pytest.fixture
def photo(tmp_path):
    """A 640 x 480 'photo' with a drawn face the Haar cascade finds (checked by a test)."""
    canvas = Image.new("RGB", (640, 480), (120, 140, 160))
    canvas.paste(draw_photo_face(np.random.default_rng(5), 160), (400, 100))
    path = tmp_path / "photo_640x480.jpg"
    canvas.save(path, quality=95)
    return path


def _chroma(normalized: torch.Tensor) -> torch.Tensor:
    return rgb_to_ycbcr(to_pixels(normalized).clamp(0, 1).unsqueeze(0))[0, 1:]


# --- whole frame, any size ----------------------------------------------------------------------
def test_output_keeps_the_whole_frame_at_any_size(model, prototype):
    target = I.target_from_prototype(prototype)
    odd = Image.new("RGB", (301, 199), (200, 120, 40))
    assert I.output_size(301, 199, 64) == (97, 64) and I.output_size(199, 301, 64) == (64, 97)
    x, out = I.stylize_image(model, odd, target, size=64)
    assert x.shape == out.shape == (3, 64, 97)
    _, out = I.stylize_image(model, odd, target, size="original")
    assert out.shape == (3, 199, 301) and torch.isfinite(out).all()
    _, out = I.stylize_image(model, Image.new("RGB", (20, 5)), target, size="original")
    assert out.shape == (3, 5, 20)  # 5 px high, padded by 11: replicated, then cropped back
    _, out = I.stylize_image(model, odd, target)  # default: the training size, short side
    assert out.shape == (3, model.cfg.image_size, 97)
    assert I.parse_size("original") == "original" and I.parse_size("128") == 128
    with pytest.raises(I.UsageError, match="--size"):
        I.parse_size("big")


def test_a_seed_state_dict_stylises_at_another_size(tmp_path):
    """A file saved the seed's way (bare DataParallel state dict: `module.` keys, the VGG19
    included) loads without its VGG19 and stylises a non-square photo at its own size (timm
    resamples the position embedding). The seed's layout with a tiny ViT: ViT-B is too big
    for a unit test."""
    torch.manual_seed(0)
    seed_cfg = get_preset(
        "seed",
        pretrained=False,
        vit_name="test_vit",
        image_size=64,
        decoder_channels=(32, 16, 16, 16),
    )
    seed = build_model(seed_cfg)
    vgg = {f"module.vgg_loss_net.{k}": v for k, v in L.loss_net(seed_cfg).state_dict().items()}
    torch.save({**torch.nn.DataParallel(seed).state_dict(), **vgg}, tmp_path / "epoch_5.pth")
    ckpt = C.load_checkpoint(tmp_path / "epoch_5.pth")
    ckpt["config"] = seed_cfg.to_dict()  # the real seed is ViT-B: too big for a unit test
    loaded, _ = C.model_from_checkpoint(ckpt, "epoch_5.pth")
    assert loaded.state_dict().keys() == seed.state_dict().keys()  # no VGG19
    style = tmp_path / "style.png"
    Image.new("RGB", (64, 64), (250, 100, 200)).save(style)
    target = I.style_target(loaded, [style])
    _, out = I.stylize_image(loaded, Image.new("RGB", (90, 50), "red"), target, size="original")
    assert out.shape == (3, 50, 90)


# --- controls ---------------------------------------------------------------------------------
def test_alpha_0_decodes_the_photo_and_alpha_1_is_the_default(model, styles):
    x = I.photo_tensor(load_image(styles[1]).resize((96, 64)), "original")  # patch multiples
    target = I.style_target(model, [styles[0]])
    with torch.no_grad():
        own = model.decode(model.encode(x))
    zero = I.stylize_batch(model, x, target, alpha=0.0)
    assert torch.allclose(zero, own, atol=1e-6)
    one = I.stylize_batch(model, x, target, alpha=1.0)
    seed_way = I.stylize(model, x, I.image_tensor(styles[0], 64).expand(1, -1, -1, -1))
    default = I.stylize_batch(model, x, target)
    assert torch.equal(one, default) and torch.allclose(one, seed_way, atol=1e-5)
    half = I.stylize_batch(model, x, target, alpha=0.5)
    assert (half - one).abs().mean() > 1e-4 and (half - zero).abs().mean() > 1e-4
    with pytest.raises(I.UsageError, match="alpha"):
        I.stylize_batch(model, x, target, alpha=1.5)


def test_preserve_color_keeps_the_photos_chroma(model, styles, prototype):
    photo = Image.new("RGB", (80, 64), (40, 160, 220))  # a strong blue the style does not have
    proto = I.target_from_prototype(prototype)
    x, plain = I.stylize_image(model, photo, proto)
    _, kept = I.stylize_image(model, photo, proto, preserve_color=True)  # prototype: luminance
    err_kept = (_chroma(kept) - _chroma(x)).abs().mean()
    err_plain = (_chroma(plain) - _chroma(x)).abs().mean()
    assert err_kept < 0.02 and err_kept < err_plain / 3, (err_kept, err_plain)
    # the brightness still comes from the stylised output
    y = rgb_to_ycbcr(to_pixels(torch.stack([kept, plain])).clamp(0, 1))[:, 0]
    assert (y[0] - y[1]).abs().mean() < 0.02

    style = I.style_target(model, [styles[0]])
    assert I.resolve_color_method(True, style) == "coral"
    assert I.resolve_color_method(True, proto) == "luminance"
    with pytest.raises(I.UsageError, match="prototype has none"):
        I.resolve_color_method("coral", proto)
    _, coral_out = I.stylize_image(model, photo, style, preserve_color="coral")
    assert coral_out.shape == plain.shape and not torch.equal(coral_out, plain)


def test_coral_gives_the_source_the_targets_colour_statistics():
    """pytorch-AdaIN's `coral`: the style image recoloured like the photo."""
    gen = torch.Generator().manual_seed(0)
    source = torch.rand(3, 32, 32, generator=gen) * torch.tensor([1.0, 0.3, 0.1]).view(3, 1, 1)
    target = torch.rand(3, 40, 24, generator=gen).sort(0).values  # correlated channels
    moved = coral(source, target)

    def stats(x):
        f = x.reshape(3, -1).double()
        return f.mean(1), torch.cov(f)

    (m1, c1), (m2, c2) = stats(moved), stats(target)
    assert torch.allclose(m1, m2, atol=1e-5) and torch.allclose(c1, c2, atol=2e-3)


def test_interpolation_weights(model, styles):
    a, b = styles[0], styles[1]
    first = I.style_target(model, [a])
    blend = I.style_target(model, [a, b], [1, 0])
    assert torch.equal(blend.mean, first.mean) and torch.equal(blend.std, first.std)
    x = I.photo_tensor(Image.new("RGB", (64, 64), "gray"), "original")
    assert torch.equal(I.stylize_batch(model, x, blend), I.stylize_batch(model, x, first))
    half = I.style_target(model, [a, b], [2, 2])  # normalised: the mean of the two
    second = I.style_target(model, [b])
    assert torch.allclose(half.mean, (first.mean + second.mean) / 2, atol=1e-6)
    assert torch.allclose(half.std, (first.std + second.std) / 2, atol=1e-6)
    assert blend.name == f"{a.stem}+{b.stem}"
    with pytest.raises(I.UsageError, match="one weight per --style image"):
        I.style_weights([1.0], 2)
    with pytest.raises(I.UsageError, match="non-negative"):
        I.style_weights([1.0, -1.0], 2)


# --- prototypes ---------------------------------------------------------------------------------
def test_prototype_round_trip_and_encoder_check(model, styles, prototype, tmp_path, sample_root):
    assert prototype["count"] == len(styles) and prototype["mean"].shape == (64,)
    # the prototype is the equal-weight blend of its images' statistics
    blend = I.style_target(model, styles)
    assert torch.allclose(prototype["mean"], blend.mean.flatten(), atol=1e-5)
    assert torch.allclose(prototype["std"], blend.std.flatten(), atol=1e-5)
    path = I.save_prototype(prototype, tmp_path / "anime_proto.pt")
    assert path.stat().st_size < 20_000  # small: two vectors and some labels
    back = I.load_prototype(path, model)
    assert torch.equal(back["mean"], prototype["mean"]) and back["count"] == prototype["count"]
    other = build_model(get_preset("smoke", vit_layers=[0, 1]), use_weights=False)
    with pytest.raises(I.UsageError, match="another encoder.*--save-prototype"):
        I.load_prototype(path, other)
    with pytest.raises(C.CheckpointError, match="style prototype, not a checkpoint.*prototype"):
        C.load_checkpoint(path)


def test_the_checkpoints_own_prototype(ckpt_with_prototype, model, prototype, tmp_path):
    loaded, _, own = I.load_for_inference(ckpt_with_prototype)
    assert not any("vgg" in k for k in loaded.state_dict())
    assert torch.equal(own["mean"], prototype["mean"])
    photo = tmp_path / "me.png"
    Image.new("RGB", (70, 50), (180, 140, 120)).save(photo)
    rc = main(
        [
            "--checkpoint",
            str(ckpt_with_prototype),
            "--content",
            str(photo),
            "--out",
            str(tmp_path / "out"),
            "--cpu-path",
            "fp32",  # the reference below is fp32 (the default path is tested in test_cpu_paths)
        ]
    )
    assert rc == 0
    out = tmp_path / "out" / "me_x_anime.png"
    x, expected = I.stylize_image(model, photo, I.target_from_prototype(prototype))
    got = torch.from_numpy(np.asarray(Image.open(out), dtype=np.float32) / 255).permute(2, 0, 1)
    assert got.shape == expected.shape == (3, 64, 90)
    assert (got - to_pixels(expected).clamp(0, 1)).abs().max() < 1.5 / 255


# --- face crop ----------------------------------------------------------------------------------
def test_face_crop_with_the_real_haar_cascade(photo):
    image = load_image(photo)
    face = find_face(image)
    assert face is not None, "the Haar cascade no longer finds the drawn face"
    x, y, w, h = face
    assert 400 <= x and x + w <= 560 and 100 <= y and y + h <= 300  # inside the pasted face
    crop, found = crop_face(image)
    assert found == face and crop.width == crop.height >= 1.8 * w
    left, top, right, bottom = face_crop_box(face, image.size)
    assert left <= x and x + w <= right and top <= y and y + h <= bottom
    assert find_face(Image.new("RGB", (640, 480), (128, 128, 128))) is None


def test_face_crop_box_is_framed_and_stays_inside():
    def detector(gray):
        return [(10, 10, 20, 20), (600, 100, 40, 40)]  # the larger one is near the edge

    image = Image.new("RGB", (640, 480))
    face = find_face(image, detector)
    assert face == (600, 100, 40, 40)
    left, top, right, bottom = face_crop_box(face, image.size)
    assert right - left == bottom - top == round(FACE_SCALE * 40)
    assert right == 640 and top < 100  # pushed back inside; framed above the box centre
    assert face_crop_box((0, 0, 400, 400), (300, 200)) == (100, 0, 300, 200)  # shrunk to fit


# --- the CLI: batches and errors ----------------------------------------------------------------
def test_cli_batches_whole_frames_skips_junk_and_keeps_inputs(
    ckpt_with_prototype, styles, photo, tmp_path, capsys
):
    folder = photo.parent
    Image.new("RGB", (301, 199), (30, 90, 200)).save(folder / "odd.png")
    Image.new("RGB", (301, 199), (90, 30, 20)).save(folder / "odd2.png")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff not really")
    (folder / "odd_x_anime.png").write_bytes((folder / "odd.png").read_bytes())  # a clash
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    rc = main(
        [
            "--checkpoint",
            str(ckpt_with_prototype),
            "--content",
            str(folder),
            "--out",
            str(folder),
            "--size",
            "original",
            "--batch-size",
            "2",
            "--face-crop",
        ]
    )
    out, err = capsys.readouterr()
    assert rc == 0
    assert err.count("broken.jpg") == 1 and "no face found in" in err and "odd.png" in err
    for name, data in before.items():
        assert (folder / name).read_bytes() == data, f"{name} was written over"
    written = [Path(line) for line in out.split()]
    assert len(written) == 4 and all(p.is_file() for p in written)
    assert Image.open(folder / "odd_x_anime_2.png").size == (301, 199)
    face = Image.open(folder / "photo_640x480_x_anime.png").size
    assert face[0] == face[1] >= 180  # the square face crop at its own pixel size


def test_cli_full_frame_with_style_images_and_controls(
    ckpt_with_prototype, photo, styles, tmp_path
):
    out_dir = tmp_path / "out"
    rc = main(
        [
            "--checkpoint",
            str(ckpt_with_prototype),
            "--content",
            str(photo),
            "--style",
            str(styles[0]),
            str(styles[1]),
            "--style-weights",
            "3",
            "1",
            "--alpha",
            "0.7",
            "--preserve-color",
            "--size",
            "original",
            "--out",
            str(out_dir),
        ]
    )
    assert rc == 0
    (result,) = out_dir.iterdir()
    assert result.name == f"photo_640x480_x_{styles[0].stem}+{styles[1].stem}.png"
    assert Image.open(result).size == (640, 480)


def test_cli_saves_and_uses_a_prototype(ckpt_with_prototype, styles, photo, tmp_path, capsys):
    proto = tmp_path / "anime.pt"
    rc = main(
        [
            "--checkpoint",
            str(ckpt_with_prototype),
            "--style",
            str(styles[0].parent),
            "--save-prototype",
            str(proto),
        ]
    )
    assert rc == 0 and proto.is_file() and f"{len(styles)} style images" in capsys.readouterr().out
    rc = main(
        [
            "--checkpoint",
            str(ckpt_with_prototype),
            "--content",
            str(photo),
            "--prototype",
            str(proto),
            "--size",
            "32",
            "--out",
            str(tmp_path / "o"),
        ]
    )
    assert rc == 0 and Image.open(tmp_path / "o" / "photo_640x480_x_anime.png").size == (43, 32)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--alpha", "1.5"], "--alpha must be between 0 and 1"),
        (["--style", "S0", "S1", "--style-weights", "1"], "1 weight(s) for 2 style image"),
        (["--style", "S0", "--prototype", "S0"], "either --style or --prototype"),
        (["--preserve-color", "coral"], "coral needs --style"),
        (["--size", "big"], "--size takes a number of pixels or 'original'"),
        (["--style", "nowhere.png"], "nowhere.png does not exist"),
        (["--save-prototype", "p.pt"], "--save-prototype needs --style"),
    ],
)
def test_cli_usage_errors(ckpt_with_prototype, styles, photo, extra, message, capsys):
    extra = [str(styles[int(a[1])]) if a in ("S0", "S1") else a for a in extra]
    args = ["--checkpoint", str(ckpt_with_prototype), "--content", str(photo), *extra]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and "Traceback" not in err


def test_cli_errors_name_the_file(cfg, ckpt_with_prototype, photo, styles, tmp_path, capsys):
    def run(*args: str) -> str:
        assert main(list(args)) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1
        return err

    ck = str(ckpt_with_prototype)
    assert "No checkpoint file" in run(
        "--checkpoint", str(tmp_path / "nope.pt"), "--content", str(photo)
    )
    assert "missing.jpg does not exist" in run("--checkpoint", ck, "--content", "missing.jpg")
    assert "pass --content" in run("--checkpoint", ck, "--style", str(styles[0]))
    err = run("--checkpoint", str(photo), "--content", str(photo))
    assert f"{photo} is not a checkpoint: it looks like a JPEG image" in err
    bare = C.save_checkpoint(tmp_path / "old.pt", build_model(cfg), cfg, 1)
    err = run("--checkpoint", str(bare), "--content", str(photo))
    assert "old.pt holds no style prototype" in err and "--save-prototype" in err


# --- speed --------------------------------------------------------------------------------------
def test_measure_inference_times_both_ways(model):
    r = I.measure_inference(copy.deepcopy(model), image_size=64, repeats=1, warmup=0)
    assert r["prototype_s"] > 0 and r["seed_way_s"] > 0 and r["device"] == "cpu"
    assert r["speedup"] == pytest.approx(r["seed_way_s"] / r["prototype_s"])
    assert "prototype" in I.format_inference(r)


# --- packaging ----------------------------------------------------------------------------------
def test_installed_package_runs_from_another_folder(tmp_path):
    """`pip install .` (here: no deps, no build isolation, into a folder) installs vitst_utils;
    the CLI then runs from anywhere, importing the installed copy, not the repository."""
    src = tmp_path / "src"  # a copy, so the build leaves no build/ or egg-info in the repo
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    shutil.copytree(
        REPO / "vitst_utils", src / "vitst_utils", ignore=shutil.ignore_patterns("__pycache__")
    )
    site = tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation"]
    subprocess.run([*pip, "--target", str(site), str(src)], check=True, capture_output=True)
    assert sorted(p.name for p in site.iterdir() if not p.name.endswith(".dist-info")) == [
        "vitst_utils"
    ]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}
    where = subprocess.run(
        [sys.executable, "-c", "import vitst_utils; print(vitst_utils.__file__)"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(where.stdout.strip()).is_relative_to(site)
    cli = subprocess.run(
        [sys.executable, "-m", "vitst_utils.inference", "--help"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
    )
    assert cli.returncode == 0 and "--save-prototype" in cli.stdout
