"""The stylising command line (inference.py): the checkpoint's own prototype, batches of whole
frames, style images and controls, prototype files, usage errors in one line, and the installed
CLI."""

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
from vitst_utils import stylize as S
from vitst_utils.function import to_pixels
from vitst_utils.inference import main
from vitst_utils.model import build_model

REPO = Path(__file__).resolve().parents[1]


def test_the_checkpoints_own_prototype(ckpt_with_prototype, model, prototype, tmp_path):
    loaded, _, own = S.load_for_inference(ckpt_with_prototype)
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
    x, expected = S.stylize_image(model, photo, S.target_from_prototype(prototype))
    got = torch.from_numpy(np.asarray(Image.open(out), dtype=np.float32) / 255).permute(2, 0, 1)
    assert got.shape == expected.shape == (3, 64, 90)
    assert (got - to_pixels(expected).clamp(0, 1)).abs().max() < 1.5 / 255


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
        (["--tone", "0.5"], "with_proto.pt paints without a palette (output_space='normalized')"),
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
